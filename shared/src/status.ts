import { z } from 'zod';
import { ClientFrame, SCOPES, ServerFrame } from './protocol.js';
import { SIGNAL_ACTIONS } from './signal.js';

/**
 * The operator's live status (admin only): a socket that sends `{"type":"status"}` gets a `status` frame about
 * once a second, and at once when a client connects or disconnects, until it closes. Additive to protocol 2:
 * a client that never asks never sees one, so deployed clients are unaffected (docs/protocol.md).
 */
export const STATUS_LIMITS = {
  /** Keys listed in `clients.keys` (the busiest first); `clients.keys_total` counts them all. */
  maxKeys: 50,
  /** Sockets listed per key; `sockets` counts them all. */
  maxSocketsPerKey: 10,
  /** Signals in `recent`, newest first. */
  maxRecent: 20,
  /** Points in `signals.series` (one per `series_step_s`, oldest first). */
  maxSeries: 60,
  /** Characters of a recent signal's headline. */
  headlineChars: 140,
} as const;

export const StatusRequestFrameSchema = z.strictObject({
  type: z.literal(ClientFrame.status),
});

const count = z.int().min(0);
const seq = z.int().min(0);

/** Latency over the window: quantiles interpolated from the Prometheus histogram buckets; null when idle. */
export const LatencySchema = z.object({
  p50_ms: z.number().nullable(),
  p99_ms: z.number().nullable(),
  /** Observations in the window. */
  count,
});
export type Latency = z.infer<typeof LatencySchema>;

export const StatusSocketSchema = z.object({
  id: count,
  ip: z.string().max(64),
  connected_s: z.number().min(0),
  /** auth: waiting for an `auth` frame; idle: no subscription; replaying; live. */
  state: z.enum(['auth', 'idle', 'replaying', 'live']),
  /** Seqs between the head and what this socket was sent (0 when live: its backlog is in buffered_bytes). */
  lag: count,
  /** Bytes queued in the server's send buffer for this socket (4009 slow_consumer past the limit). */
  buffered_bytes: count,
  filtered: z.boolean(),
  /** This socket watches status (an operator's page). */
  status: z.boolean(),
});
export type StatusSocket = z.infer<typeof StatusSocketSchema>;

export const StatusKeySchema = z.object({
  /** API key id, or `jwt:<sub>`. Never the secret. */
  key_id: z.string().max(160),
  name: z.string().max(160),
  kind: z.enum(['key', 'jwt']),
  scopes: z.array(z.enum(SCOPES)).max(SCOPES.length),
  sockets: count,
  listed: z.array(StatusSocketSchema).max(STATUS_LIMITS.maxSocketsPerKey),
});
export type StatusKey = z.infer<typeof StatusKeySchema>;

export const RecentSignalSchema = z.object({
  seq,
  symbol: z.string(),
  catalyst: z.string(),
  action: z.enum(SIGNAL_ACTIONS),
  direction: z.string().optional(),
  confidence: z.number(),
  headline: z.string().max(STATUS_LIMITS.headlineChars),
  ingested_at: z.string(),
});
export type RecentSignal = z.infer<typeof RecentSignalSchema>;

/**
 * A gateway's (or a both-node's) replica of the cluster log: what it applied and serves, against the newest seq
 * the cluster log holds. The same numbers as /healthz's `replica`.
 */
export const StatusReplicaSchema = z.object({
  applied_seq: seq,
  /** Newest seq known in the cluster log (polled every few seconds, so briefly behind the truth). */
  cluster_last_seq: seq,
  /** cluster_last_seq - applied_seq: signals the cluster holds that this node does not serve yet. */
  replica_lag: count,
  caught_up: z.boolean(),
  /** Set when the replica diverged from the cluster log (the node then serves nothing); the reason. */
  diverged: z.string().max(400).nullable(),
});
export type StatusReplica = z.infer<typeof StatusReplicaSchema>;

export const StatusFrameSchema = z.object({
  type: z.literal(ServerFrame.status),
  /** Server clock, ms since the Unix epoch. */
  time: z.number(),
  server_id: z.string(),
  epoch: z.string(),
  uptime_s: z.number().min(0),
  head_seq: seq,
  /** Oldest retained seq (head_seq + 1 when nothing is retained). */
  first_seq: seq,
  /** Database file incl. WAL; null where the log is not a local file (cluster mode). */
  db_size_bytes: count.nullable(),
  /** Length of the window the rates, latencies and window counters cover (shorter right after a start). */
  window_s: z.number().min(0),
  clients: z.object({
    /** Open sockets, authenticated or not. */
    sockets: count,
    /** Sockets that have not authenticated yet (first-frame auth pending). */
    unauthenticated: count,
    keys_total: count,
    keys: z.array(StatusKeySchema).max(STATUS_LIMITS.maxKeys),
  }),
  signals: z.object({
    /** Signals new in this node's log in the trailing minute: ingested here, or applied from the cluster log. */
    per_min: z.number().min(0),
    /** POSTs stored by this node (0 on a gateway, which ingests none). */
    ingested_total: count,
    /** Signals new in this node's log since start: ingested, or applied and served on a gateway. */
    published_total: count,
    duplicates_total: count,
    /** Signals per minute (trailing minute) every series_step_s, oldest first, the last one now. */
    series: z.array(z.number().min(0)).max(STATUS_LIMITS.maxSeries),
    series_step_s: z.number().positive(),
  }),
  latency: z.object({
    /** One group commit: transaction incl. signing (catalyst_ingest_commit_seconds). */
    ingest: LatencySchema,
    /** Handing one committed group to every subscriber (catalyst_fanout_seconds). */
    fanout: LatencySchema,
  }),
  closes: z.object({
    slow_consumer_total: count,
    slow_consumer_window: count,
  }),
  rate_limited: z.object({
    total: count,
    window: count,
    /** Totals by limit (ws_frames, ws_connections, ws_per_key, auth_failures, rest_read, rest_publish). */
    by_kind: z.record(z.string().max(40), count),
  }),
  recent: z.array(RecentSignalSchema).max(STATUS_LIMITS.maxRecent),
  /** The replica of the cluster log on a gateway or both-node; null on a single node. */
  replica: StatusReplicaSchema.nullable(),
});
export type StatusFrame = z.infer<typeof StatusFrameSchema>;
