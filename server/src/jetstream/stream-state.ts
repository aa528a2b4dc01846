import { Gauge, type Registry } from 'prom-client';
import type { NatsHandle } from './connection.js';

/** The cluster log as last sampled from the stream leader. */
export interface StreamSample {
  /** When the last sample succeeded (ms since epoch); 0 = never. */
  at: number;
  lastSeq: number;
  firstSeq: number;
  messages: number;
  bytes: number;
  leader: string | undefined;
  /** Peers other than the leader: up to date, behind (with their lag in messages), or unreachable. */
  replicas: { name: string; current: boolean; offline: boolean; lag: number }[];
  /** The last sampling error, cleared by the next success. */
  error: string | undefined;
}

export interface StreamSampler {
  readonly sample: StreamSample;
  /** Connected to NATS and the stream answered within the last `staleMs`. */
  reachable(): boolean;
  stop(): void;
}

/**
 * Samples stream info on an interval (never per request: /metrics and /healthz read the last sample), so a
 * scrape storm cannot turn into JetStream API load, and a slow cluster cannot make /healthz hang.
 */
export function startStreamSampler(
  h: NatsHandle,
  stream: string,
  o: { intervalMs?: number; staleMs?: number; now?: () => number } = {},
): StreamSampler {
  const intervalMs = o.intervalMs ?? 2000;
  const staleMs = o.staleMs ?? intervalMs * 3;
  const now = o.now ?? Date.now;
  const sample: StreamSample = {
    at: 0,
    lastSeq: 0,
    firstSeq: 0,
    messages: 0,
    bytes: 0,
    leader: undefined,
    replicas: [],
    error: undefined,
  };
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const info = await h.jsm.streams.info(stream);
      sample.lastSeq = info.state.last_seq;
      sample.firstSeq = info.state.first_seq;
      sample.messages = info.state.messages;
      sample.bytes = info.state.bytes;
      sample.leader = info.cluster?.leader;
      sample.replicas = (info.cluster?.replicas ?? []).map((r) => ({
        name: r.name,
        current: r.current,
        offline: r.offline ?? false,
        lag: r.lag ?? 0,
      }));
      sample.error = undefined;
      sample.at = now();
    } catch (err) {
      sample.error = err instanceof Error ? err.message : String(err);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    sample,
    reachable: () => !h.nc.isClosed() && sample.at > 0 && now() - sample.at <= staleMs,
    stop: () => clearInterval(timer),
  };
}

/**
 * Stream state on /metrics, from the sampler's last sample. A gauge some other part of the process already
 * registered (a gateway's catalyst_cluster_last_seq in role both) is left to it.
 */
export function registerStreamMetrics(registry: Registry, s: StreamSampler): void {
  const fresh = (name: string) => registry.getSingleMetric(name) === undefined;
  new Gauge({
    name: 'catalyst_cluster_reachable',
    help: '1 when the cluster log answered within the staleness bound, else 0.',
    registers: [registry],
    collect() {
      this.set(s.reachable() ? 1 : 0);
    },
  });
  if (fresh('catalyst_cluster_last_seq')) {
    new Gauge({
      name: 'catalyst_cluster_last_seq',
      help: 'Newest seq known in the cluster stream.',
      registers: [registry],
      collect() {
        this.set(s.sample.lastSeq);
      },
    });
  }
  new Gauge({
    name: 'catalyst_cluster_sample_age_seconds',
    help: 'Age of the last successful stream sample.',
    registers: [registry],
    collect() {
      this.set(s.sample.at ? (Date.now() - s.sample.at) / 1000 : -1);
    },
  });
  new Gauge({
    name: 'catalyst_cluster_replicas',
    help: 'Stream followers by state (the leader is not counted).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const r = s.sample.replicas;
      this.set({ state: 'current' }, r.filter((x) => x.current && !x.offline).length);
      this.set({ state: 'lagging' }, r.filter((x) => !x.current && !x.offline).length);
      this.set({ state: 'offline' }, r.filter((x) => x.offline).length);
    },
  });
  new Gauge({
    name: 'catalyst_cluster_replica_lag_messages',
    help: 'Largest lag of a stream follower behind the leader, in messages.',
    registers: [registry],
    collect() {
      this.set(Math.max(0, ...s.sample.replicas.map((x) => x.lag)));
    },
  });
}
