import { STATUS_LIMITS, StatusFrameSchema, type Signal } from '@catalyst-signal/shared';
import { describe, expect, it } from 'vitest';
import { histogramQuantile, type Buckets } from '../src/status/quantile.js';
import { RecentSignals } from '../src/status/recent.js';
import { buildSnapshot, type SnapshotInput, type SocketView } from '../src/status/snapshot.js';
import { SampleWindow, type Sample } from '../src/status/window.js';

const LE = [0.001, 0.01, 0.1, Infinity];
const buckets = (...counts: number[]): Buckets => ({ le: LE, counts });

function sample(t: number, over: Partial<Sample> = {}): Sample {
  return {
    t,
    ingested: 0,
    duplicates: 0,
    slowConsumerCloses: 0,
    rateLimited: {},
    commit: buckets(0, 0, 0, 0),
    fanout: buckets(0, 0, 0, 0),
    ...over,
    // On a single node every new seq was ingested here: the two counters move together unless a test says.
    published: over.published ?? over.ingested ?? 0,
  };
}

function socket(id: number, over: Partial<SocketView> = {}): SocketView {
  return {
    id,
    ip: '127.0.0.1',
    openedAt: 0,
    principal: { id: 'k1', name: 'alice', kind: 'key', scopes: ['read'] },
    state: 'live',
    cursor: undefined,
    bufferedBytes: 0,
    filtered: false,
    watchingStatus: false,
    ...over,
  };
}

function input(over: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    now: 1_000_000,
    startedAt: 0,
    serverId: 'sig-1',
    log: { epoch: 'e1', head: 100, firstSeq: 1 },
    dbSizeBytes: 4096,
    sockets: [],
    samples: new SampleWindow(11 * 60_000),
    windowMs: 60_000,
    seriesStepMs: 10_000,
    recent: [],
    ...over,
  };
}

describe('histogramQuantile', () => {
  it('interpolates inside the bucket the rank falls in, like Prometheus', () => {
    // 10 observations <= 1 ms, 10 more in (1 ms, 10 ms]
    expect(histogramQuantile(0.5, buckets(10, 20, 20, 20))).toBeCloseTo(0.001);
    expect(histogramQuantile(0.75, buckets(10, 20, 20, 20))).toBeCloseTo(0.0055);
    expect(histogramQuantile(0.25, buckets(10, 20, 20, 20))).toBeCloseTo(0.0005);
  });
  it('answers the highest finite bound for a rank in +Inf, nothing without observations', () => {
    expect(histogramQuantile(0.99, buckets(0, 0, 0, 5))).toBe(0.1);
    expect(histogramQuantile(0.5, buckets(0, 0, 0, 0))).toBeUndefined();
  });
});

describe('SampleWindow', () => {
  it('keeps the retained span plus one baseline, and finds the sample at or before a time', () => {
    const w = new SampleWindow(10_000);
    for (let t = 0; t <= 30_000; t += 1000) w.add(sample(t, { ingested: t / 1000 }));
    expect(w.oldest()!.t).toBe(20_000);
    expect(w.at(25_500)!.t).toBe(25_000);
    expect(w.at(0)!.t).toBe(20_000);
    w.add(sample(29_000)); // clock went back: ignored
    expect(w.latest()!.t).toBe(30_000);
  });
  it('is bounded by count as well as by time', () => {
    const w = new SampleWindow(1e9, 50);
    for (let t = 0; t < 500; t++) w.add(sample(t));
    expect(w.size).toBe(50);
  });
});

describe('buildSnapshot', () => {
  it('takes rates, latencies and window counters over the last minute', () => {
    const samples = new SampleWindow(11 * 60_000);
    const startedAt = 0;
    // Two minutes of history: 1 signal a second; the latencies of the last minute are all in (1, 10] ms.
    for (let t = 1000; t <= 120_000; t += 1000) {
      const n = t / 1000;
      samples.add(
        sample(t, {
          ingested: n,
          slowConsumerCloses: n > 100 ? 3 : 1,
          rateLimited: { ws_frames: n > 100 ? 7 : 2, rest_read: 1 },
          commit: n <= 60 ? buckets(n, n, n, n) : buckets(60, n, n, n),
        }),
      );
    }
    const f = buildSnapshot(input({ now: 120_000, startedAt, samples }));
    expect(StatusFrameSchema.parse(f)).toEqual(f);
    expect(f.window_s).toBe(60);
    expect(f.signals.per_min).toBe(60);
    expect(f.signals.ingested_total).toBe(120);
    expect(f.latency.ingest.count).toBe(60);
    expect(f.latency.ingest.p50_ms).toBeGreaterThan(1);
    expect(f.latency.ingest.p99_ms).toBeLessThanOrEqual(10);
    expect(f.latency.fanout).toEqual({ p50_ms: null, p99_ms: null, count: 0 });
    expect(f.closes).toEqual({ slow_consumer_total: 3, slow_consumer_window: 2 });
    expect(f.rate_limited).toEqual({ total: 8, window: 5, by_kind: { ws_frames: 7, rest_read: 1 } });
    expect(f.uptime_s).toBe(120);
    // 10 s steps from the first sample: the trailing minute's count at each, the first ones partial.
    expect(f.signals.series.length).toBe(12);
    expect(f.signals.series.at(-1)).toBe(60);
    expect(f.signals.series[0]).toBe(10);
  });

  it('counts from the start while the process is younger than the window', () => {
    const samples = new SampleWindow(11 * 60_000);
    samples.add(sample(5_000, { ingested: 3, commit: buckets(3, 3, 3, 3) }));
    const f = buildSnapshot(input({ now: 5_000, startedAt: 0, samples }));
    expect(f.signals.per_min).toBe(3);
    expect(f.window_s).toBe(5);
    expect(f.latency.ingest.count).toBe(3);
    expect(f.latency.ingest.p99_ms).toBeLessThanOrEqual(1);
  });

  it('groups sockets by key, busiest first, with lag for replaying sockets, within the limits', () => {
    const sockets: SocketView[] = [
      socket(1, { state: 'replaying', cursor: 40, bufferedBytes: 512 }),
      socket(2),
      socket(3, {
        principal: { id: 'k2', name: 'bob', kind: 'key', scopes: ['admin'] },
        watchingStatus: true,
        openedAt: 990_000,
      }),
      socket(4, { principal: undefined, state: 'auth' }),
    ];
    const f = buildSnapshot(input({ sockets }));
    expect(f.clients.sockets).toBe(4);
    expect(f.clients.unauthenticated).toBe(1);
    expect(f.clients.keys.map((k) => [k.name, k.sockets])).toEqual([
      ['alice', 2],
      ['bob', 1],
    ]);
    expect(f.clients.keys[0]!.listed[0]).toMatchObject({
      id: 1,
      state: 'replaying',
      lag: 60,
      buffered_bytes: 512,
    });
    expect(f.clients.keys[1]!.listed[0]).toMatchObject({ status: true, connected_s: 10 });

    const many: SocketView[] = [];
    for (let k = 0; k < STATUS_LIMITS.maxKeys + 20; k++)
      for (let s = 0; s < (k === 7 ? 30 : 1); s++)
        many.push(
          socket(k * 100 + s, { principal: { id: `k${k}`, name: `n${k}`, kind: 'key', scopes: ['read'] } }),
        );
    const g = buildSnapshot(input({ sockets: many }));
    expect(StatusFrameSchema.safeParse(g).success).toBe(true);
    expect(g.clients.keys_total).toBe(STATUS_LIMITS.maxKeys + 20);
    expect(g.clients.keys).toHaveLength(STATUS_LIMITS.maxKeys);
    expect(g.clients.keys[0]).toMatchObject({ name: 'n7', sockets: 30 });
    expect(g.clients.keys[0]!.listed).toHaveLength(STATUS_LIMITS.maxSocketsPerKey);
  });

  it('lists recent signals newest first, bounded, headlines shortened', () => {
    const recent = new RecentSignals();
    for (let seq = 1; seq <= 50; seq++)
      recent.add({
        seq,
        epoch: 'e1',
        source_id: `s${seq}`,
        symbol: 'AAPL',
        catalyst: 'fda',
        direction: 'long',
        confidence: 0.5,
        price: 1,
        headline: 'x'.repeat(seq === 50 ? 400 : 10),
        classified_at: '2026-11-23T00:00:00Z',
        ingested_at: '2026-11-23T00:00:01Z',
        sig: 'sig',
      } as Signal);
    const f = buildSnapshot(input({ recent: recent.list() }));
    expect(f.recent.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 50 - i));
    // A whole committed group at once keeps the same newest-first order.
    const grouped = new RecentSignals();
    grouped.addAll(
      recent
        .list()
        .map((r) => ({ signal: { ...r, seq: r.seq + 100 } as unknown as Signal }))
        .reverse(),
    );
    expect(grouped.list().map((r) => r.seq)).toEqual(recent.list().map((r) => r.seq + 100));
    expect(f.recent[0]!.action).toBe('enter');
    expect(f.recent[0]!.headline.length).toBe(STATUS_LIMITS.headlineChars);
    expect(StatusFrameSchema.safeParse(f).success).toBe(true);
  });
});
