import {
  ServerFrame,
  STATUS_LIMITS,
  type Latency,
  type RecentSignal,
  type Scope,
  type StatusFrame,
  type StatusKey,
  type StatusReplica,
  type StatusSocket,
} from '@catalyst-signal/shared';
import { bucketsDelta, histogramQuantile, type Buckets } from './quantile.js';
import type { Sample, SampleWindow } from './window.js';

/** One open socket as the stream's registry sees it (ws/ builds these; nothing here touches uWS). */
export interface SocketView {
  id: number;
  ip: string;
  /** ms since the Unix epoch. */
  openedAt: number;
  principal: { id: string; name: string; kind: 'key' | 'jwt'; scopes: readonly Scope[] } | undefined;
  state: StatusSocket['state'];
  /** Last seq sent while replaying (lag = head - cursor); undefined otherwise. */
  cursor: number | undefined;
  bufferedBytes: number;
  filtered: boolean;
  watchingStatus: boolean;
}

/** Where the log stands: any log driver answers this (SQLite here, JetStream in cluster mode). */
export interface LogView {
  epoch: string;
  head: number;
  firstSeq: number;
}

export interface SnapshotInput {
  now: number;
  startedAt: number;
  serverId: string;
  log: LogView;
  /** undefined where the log is not a local file. */
  dbSizeBytes: number | undefined;
  sockets: Iterable<SocketView>;
  samples: SampleWindow;
  /** Window of the rates, latencies and window counters (60 s). */
  windowMs: number;
  /** Spacing of the signals-per-minute series (10 s). */
  seriesStepMs: number;
  recent: readonly RecentSignal[];
  /** A gateway's or both-node's replica; absent on a single node. */
  replica?: StatusReplica | undefined;
}

const ZERO: Buckets = { le: [Infinity], counts: [0] };
const EMPTY: Sample = {
  t: 0,
  ingested: 0,
  published: 0,
  duplicates: 0,
  slowConsumerCloses: 0,
  rateLimited: {},
  commit: ZERO,
  fanout: ZERO,
};

const ms = (seconds: number | undefined) => (seconds === undefined ? null : round(seconds * 1000, 3));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

function latency(base: Buckets, now: Buckets): Latency {
  const d = bucketsDelta(base, now);
  return {
    p50_ms: ms(histogramQuantile(0.5, d)),
    p99_ms: ms(histogramQuantile(0.99, d)),
    count: d.counts.at(-1) ?? 0,
  };
}

/**
 * The counters at time t: the newest sample at or before it, or all zeros before the process started (the
 * metrics are created with the server, so everything counted since is in the first sample).
 */
function counterAt(samples: SampleWindow, t: number, startedAt: number): Sample {
  if (t < startedAt) return { ...EMPTY, t: startedAt };
  return samples.at(t) ?? { ...EMPTY, t: startedAt };
}

/**
 * Signals new in this node's log in the minute before each point (ingested, or applied on a gateway, which
 * ingests none), every step, oldest first; points before the first sample are left out.
 */
function series(i: SnapshotInput, now: Sample): number[] {
  const oldest = i.samples.oldest();
  if (!oldest) return [];
  const out: number[] = [];
  for (let k = STATUS_LIMITS.maxSeries - 1; k >= 0; k--) {
    const t = now.t - k * i.seriesStepMs;
    if (t < oldest.t) continue;
    const a = counterAt(i.samples, t - i.windowMs, i.startedAt);
    const b = counterAt(i.samples, t, i.startedAt);
    out.push(Math.max(0, b.published - a.published));
  }
  return out;
}

/** Group sockets by principal: the busiest keys first (then by name), each with its first sockets listed. */
function clients(sockets: Iterable<SocketView>, now: number, head: number): StatusFrame['clients'] {
  let total = 0;
  let unauthenticated = 0;
  const byKey = new Map<string, { view: SocketView['principal'] & object; list: SocketView[] }>();
  for (const s of sockets) {
    total++;
    if (!s.principal) {
      unauthenticated++;
      continue;
    }
    const entry = byKey.get(s.principal.id);
    if (entry) entry.list.push(s);
    else byKey.set(s.principal.id, { view: s.principal, list: [s] });
  }
  const keys: StatusKey[] = [...byKey.values()]
    .sort((a, b) => b.list.length - a.list.length || a.view.name.localeCompare(b.view.name))
    .slice(0, STATUS_LIMITS.maxKeys)
    .map(({ view, list }) => ({
      key_id: view.id,
      name: view.name,
      kind: view.kind,
      scopes: [...view.scopes],
      sockets: list.length,
      listed: list
        .sort((a, b) => a.id - b.id)
        .slice(0, STATUS_LIMITS.maxSocketsPerKey)
        .map((s) => ({
          id: s.id,
          ip: s.ip.slice(0, 64),
          connected_s: Math.max(0, Math.round((now - s.openedAt) / 1000)),
          state: s.state,
          lag: s.state === 'replaying' && s.cursor !== undefined ? Math.max(0, head - s.cursor) : 0,
          buffered_bytes: s.bufferedBytes,
          filtered: s.filtered,
          status: s.watchingStatus,
        })),
    }));
  return { sockets: total, unauthenticated, keys_total: byKey.size, keys };
}

/**
 * The status frame, from its inputs alone (no clock, no metrics registry, no sockets): the hub passes what it
 * read, this decides what the operator sees. Every list is bounded by STATUS_LIMITS.
 */
export function buildSnapshot(i: SnapshotInput): StatusFrame {
  const now = i.samples.latest() ?? { ...EMPTY, t: i.now };
  const base = counterAt(i.samples, now.t - i.windowMs, i.startedAt);
  return {
    type: ServerFrame.status,
    time: i.now,
    server_id: i.serverId,
    epoch: i.log.epoch,
    uptime_s: Math.max(0, Math.round((i.now - i.startedAt) / 1000)),
    head_seq: i.log.head,
    first_seq: i.log.firstSeq,
    db_size_bytes: i.dbSizeBytes ?? null,
    window_s: round((now.t - base.t) / 1000, 1),
    clients: clients(i.sockets, i.now, i.log.head),
    signals: {
      per_min: Math.max(0, now.published - base.published),
      ingested_total: now.ingested,
      published_total: now.published,
      duplicates_total: now.duplicates,
      series: series(i, now),
      series_step_s: i.seriesStepMs / 1000,
    },
    latency: {
      ingest: latency(base.commit, now.commit),
      fanout: latency(base.fanout, now.fanout),
    },
    closes: {
      slow_consumer_total: now.slowConsumerCloses,
      slow_consumer_window: Math.max(0, now.slowConsumerCloses - base.slowConsumerCloses),
    },
    rate_limited: {
      total: sum(now.rateLimited),
      window: Math.max(0, sum(now.rateLimited) - sum(base.rateLimited)),
      by_kind: { ...now.rateLimited },
    },
    recent: i.recent.slice(0, STATUS_LIMITS.maxRecent),
    replica: i.replica ?? null,
  };
}
