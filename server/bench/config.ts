/** Run profiles: `--smoke` (seconds, CI), default quick (a few minutes), `--full` (the sizes). */
import type { ServerName, Sync } from './lib/servers.js';

export type Mode = 'smoke' | 'quick' | 'full';

export interface Profile {
  mode: Mode;
  servers: ServerName[];
  rounds: number;
  /** Clients per generator process (the per-process open-file cap is 20,000). */
  perGen: number;
  sampleEvery: number;
  s1: { clients: number[]; deliveriesPerS: number; warmupMs: number; durationMs: number; drainMs: number };
  s2: {
    clients: number;
    rounds: number;
    steps: number[];
    warmupMs: number;
    durationMs: number;
    drainMs: number;
    p99LimitMs: number;
  } | null;
  s3: {
    concurrency: number;
    durationMs: number;
    subscribers: number[];
    syncs: Sync[];
    rounds: number;
    /** POST -> checkpoint latency probes after each of our runs (issue 24); 0: none. */
    checkpointProbes: number;
  } | null;
  s4: { single: number; clients: number; missed: number; timeoutMs: number } | null;
  s5: { clients: number } | null;
  /** Cluster mode (needs nats-server and the ingest/gateway roles; skipped with the reason otherwise). */
  cluster: {
    /**
     * Ingest per target (single node, cluster R1, R3): closed loop at each connection count (capacity), then
     * open loop at each offered rate in `openRates` (POSTs/s, evenly spaced, over up to `openConnections`
     * keep-alive connections; latency from each POST's intended send time).
     */
    ingest: {
      concurrency: number[];
      openRates: number[];
      openConnections: number;
      durationMs: number;
      rounds: number;
    };
    fanout: {
      clients: number;
      deliveriesPerS: number;
      warmupMs: number;
      durationMs: number;
      drainMs: number;
    };
    /** Clients on gateway A when it is SIGKILLed; `missed` signals are published right after the kill. */
    failover: { clients: number; missed: number; timeoutMs: number; rounds: number };
  } | null;
}

const ALL: ServerName[] = ['catalyst', 'ws-naive', 'ws-once', 'socketio'];

export const PROFILES: Record<Mode, Profile> = {
  smoke: {
    mode: 'smoke',
    servers: ['catalyst', 'ws-once'],
    rounds: 1,
    perGen: 5000,
    sampleEvery: 10,
    s1: { clients: [50], deliveriesPerS: 10_000, warmupMs: 300, durationMs: 1_000, drainMs: 2_000 },
    s2: null,
    s3: {
      concurrency: 8,
      durationMs: 1_000,
      subscribers: [0],
      syncs: ['normal'],
      rounds: 1,
      checkpointProbes: 5,
    },
    s4: { single: 2_000, clients: 50, missed: 100, timeoutMs: 10_000 },
    s5: { clients: 50 },
    cluster: {
      ingest: { concurrency: [1, 8], openRates: [200], openConnections: 64, durationMs: 1_000, rounds: 1 },
      fanout: { clients: 50, deliveriesPerS: 2_000, warmupMs: 300, durationMs: 1_000, drainMs: 3_000 },
      failover: { clients: 50, missed: 20, timeoutMs: 20_000, rounds: 1 },
    },
  },
  quick: {
    mode: 'quick',
    servers: ALL,
    rounds: 2,
    perGen: 5000,
    sampleEvery: 50,
    s1: { clients: [1000, 2000], deliveriesPerS: 50_000, warmupMs: 1_000, durationMs: 3_000, drainMs: 5_000 },
    s2: {
      clients: 1000,
      rounds: 1,
      steps: [25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000, 600_000],
      warmupMs: 1_000,
      durationMs: 3_000,
      drainMs: 3_000,
      p99LimitMs: 100,
    },
    s3: {
      concurrency: 32,
      durationMs: 3_000,
      subscribers: [0, 500],
      syncs: ['normal', 'full'],
      rounds: 1,
      checkpointProbes: 40,
    },
    s4: { single: 20_000, clients: 500, missed: 500, timeoutMs: 60_000 },
    s5: { clients: 2000 },
    cluster: {
      ingest: { concurrency: [1, 32], openRates: [1000], openConnections: 64, durationMs: 3_000, rounds: 1 },
      fanout: { clients: 1000, deliveriesPerS: 50_000, warmupMs: 1_000, durationMs: 3_000, drainMs: 5_000 },
      failover: { clients: 1000, missed: 100, timeoutMs: 30_000, rounds: 2 },
    },
  },
  full: {
    mode: 'full',
    servers: ALL,
    rounds: 3,
    perGen: 5000,
    sampleEvery: 100,
    s1: {
      clients: [1000, 5000, 10_000],
      deliveriesPerS: 100_000,
      warmupMs: 2_000,
      durationMs: 10_000,
      drainMs: 10_000,
    },
    s2: {
      clients: 5000,
      rounds: 2,
      steps: [
        25_000, 50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 400_000, 500_000, 600_000, 800_000,
        1_000_000,
      ],
      warmupMs: 2_000,
      durationMs: 5_000,
      drainMs: 5_000,
      p99LimitMs: 100,
    },
    s3: {
      concurrency: 64,
      durationMs: 10_000,
      subscribers: [0, 1000],
      syncs: ['normal', 'full'],
      rounds: 2,
      checkpointProbes: 100,
    },
    s4: { single: 100_000, clients: 1000, missed: 1000, timeoutMs: 120_000 },
    s5: { clients: 10_000 },
    cluster: {
      ingest: { concurrency: [1, 64], openRates: [1000], openConnections: 64, durationMs: 10_000, rounds: 2 },
      fanout: {
        clients: 5000,
        deliveriesPerS: 100_000,
        warmupMs: 2_000,
        durationMs: 10_000,
        drainMs: 10_000,
      },
      failover: { clients: 1000, missed: 100, timeoutMs: 60_000, rounds: 3 },
    },
  },
};

/** A B C, C B A, A B C, ...: each server's position alternates so drift (thermal, page cache) evens out. */
export function roundOrder<T>(items: T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}
