import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/**
 * Prometheus metrics (prom-client: exposition format, histograms and default process metrics done right,
 * rather than hand-formatted text). One registry per server instance so tests can run several.
 */
export function createMetrics(dbSizeBytes: () => number, connected: () => number) {
  const registry = new Registry();
  // prom-client's process and Node.js metrics under their standard names (process_cpu_seconds_total,
  // nodejs_eventloop_lag_seconds, …), so stock dashboards and alerts work; our own metrics are catalyst_*.
  collectDefaultMetrics({ register: registry });
  // These three are gauges named *_total, which `promtool check metrics` rejects (exit 3). They only sum
  // nodejs_active_{handles,requests,resources}{type}, which stay: sum() of those gives the same number.
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  const m = {
    registry,
    signalsIngested: new Counter({
      name: 'catalyst_signals_ingested_total',
      help: 'Signals stored (new seqs).',
      registers: [registry],
    }),
    signalsPublished: new Counter({
      name: 'catalyst_signals_published_total',
      help: "Signals new in this node's log, handed to its subscribers (ingested here, or applied from the cluster log on a gateway).",
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'catalyst_signals_duplicate_total',
      help: 'Ingests answered with an existing seq.',
      registers: [registry],
    }),
    framesSent: new Counter({
      name: 'catalyst_ws_frames_sent_total',
      help: 'Frames handed to uWS (topic publishes count once per topic).',
      registers: [registry],
    }),
    replays: new Counter({
      name: 'catalyst_ws_replays_total',
      help: 'Subscriptions that started with a replay.',
      registers: [registry],
    }),
    replayedSignals: new Counter({
      name: 'catalyst_ws_replayed_signals_total',
      help: 'Signals sent from history.',
      registers: [registry],
    }),
    cosignatures: new Counter({
      name: 'catalyst_tlog_cosignatures_total',
      help: 'Witness cosign frames, by what became of them (stored; anything else was dropped).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'catalyst_rate_limited_total',
      help: 'Requests or frames refused by a rate limit.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'catalyst_auth_failures_total',
      help: 'Failed authentications.',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    wsCloses: new Counter({
      name: 'catalyst_ws_closes_total',
      help: 'Sockets closed by the server, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'catalyst_ingest_commit_seconds',
      help: 'Time of one group commit (transaction incl. signing).',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    commitBatch: new Histogram({
      name: 'catalyst_ingest_commit_batch_size',
      help: 'Signals per group commit.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers: [registry],
    }),
    fanoutSeconds: new Histogram({
      name: 'catalyst_fanout_seconds',
      help: 'Time to hand one commit group to every subscriber.',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'catalyst_ws_connected',
    help: 'Open WebSocket connections.',
    registers: [registry],
    collect() {
      this.set(connected());
    },
  });
  new Gauge({
    name: 'catalyst_db_size_bytes',
    help: 'Database file size incl. WAL.',
    registers: [registry],
    collect() {
      this.set(dbSizeBytes());
    },
  });
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
