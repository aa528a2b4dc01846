/** IPC between the orchestrator (run.ts) and load-generator processes (gen/worker.ts). */

/** How a client speaks to a server: our protocol, the ws peers' (same frames, no hello), or Engine.IO v4. */
export type ClientKind = 'catalyst' | 'ws' | 'sio';

export interface ConnectSpec {
  kind: ClientKind;
  port: number;
  count: number;
  /** Global index of this process's first client, to spread source addresses over 127.0.0.x. */
  firstIndex: number;
  /** Bearer token sent on the upgrade (our server); peers ignore it. */
  token?: string;
  /** Every Nth client fully parses and validates each frame. */
  sampleEvery: number;
}

export interface IngestSpec {
  port: number;
  token?: string;
  concurrency: number;
  durationMs: number;
  firstIndex: number;
  tag: string;
}

export type GenRequest =
  | { op: 'connect'; spec: ConnectSpec }
  | { op: 'window'; fromSeq: number }
  | { op: 'count' }
  | { op: 'report' }
  | { op: 'drop' }
  | { op: 'resume'; headSeq: number; timeoutMs: number }
  | { op: 'ingest'; spec: IngestSpec }
  | { op: 'armFailover'; port: number }
  | { op: 'awaitHead'; headSeq: number; timeoutMs: number }
  | { op: 'close' };

export interface ConnectResult {
  connected: number;
  failed: number;
  ms: number;
  firstError?: string;
}

export interface CountResult {
  delivered: number;
  /** Clients whose last seq is at least `headSeq` passed to `resume` (or in total). */
  lastSeqMin: number;
}

/** Everything a process saw since the last `window`. Latencies in microseconds. */
export interface WindowReport {
  clients: number;
  open: number;
  disconnects: number;
  delivered: number;
  dups: number;
  gaps: number;
  otherFrames: number;
  sampledFrames: number;
  invalidFrames: number;
  unrecovered: number;
  errors: string[];
  latency: string;
  fromSeq: number;
  /** Per seq (index = seq - fromSeq): latest arrival (µs, monotonic) and how many clients got it. */
  lastAt: number[];
  countAt: number[];
  cpuUs: number;
  wallUs: number;
}

export interface ResumeResult {
  ms: number;
  caughtUp: number;
  clients: number;
  unrecovered: number;
  recoveredFlag: number;
}

export interface FailoverResult {
  clients: number;
  caughtUp: number;
  /** nowUs() when the last client reached the head (0 if none had to). */
  lastAt: number;
  /** Clients that lost their server and reconnected to the failover port. */
  failovers: number;
  unrecovered: number;
}

export interface IngestResult {
  acks: number;
  duplicates: number;
  non2xx: number;
  errors: number;
  latency: string;
  elapsedMs: number;
  cpuUs: number;
}

export type GenResponse =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Monotonic microseconds, comparable across processes on one machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1e3);
}
