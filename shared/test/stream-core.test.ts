import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  StreamCore,
  frameCodec,
  memoryCursor,
  signalCodec,
  type StreamCoreOptions,
  type StreamEvents,
} from '../src/index.js';
import { ManualClock, ScriptedSocket } from './helpers/scripted-socket.js';

// The stream core as pure logic: a scripted socket plays the server, a manual clock plays time.

/** A dashboard-style feed: `row` frames with their own seq and epoch, checked by a zod schema. */
const RowFrame = z.object({
  type: z.literal('row'),
  seq: z.int().min(1),
  epoch: z.string(),
  text: z.string(),
});
const rowCodec = frameCodec({
  itemSchema: RowFrame,
  toItem: (f) => ({ seq: f.seq, epoch: f.epoch, item: f.text }),
});

const HB = 100;
let clock: ManualClock;
let core: StreamCore<string> | undefined;
let applied: number[];
let events: { [K in keyof StreamEvents<string>]?: StreamEvents<string>[K][] };

const tick = () => new Promise<void>((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

function make(over: Partial<StreamCoreOptions<string>> = {}): StreamCore<string> {
  const c = new StreamCore<string>({
    urls: ['ws://a.test/v1/stream'],
    WebSocket: ScriptedSocket,
    token: 'cat_k',
    policy: {
      heartbeat_misses: 2,
      start_from: 'all',
      max_clock_skew_ms: 2000,
      reconnect: { initial_delay_ms: 50, factor: 2, max_delay_ms: 400, jitter: 'full' },
    },
    codec: rowCodec,
    clock,
    random: () => 0.5,
    apply: async (_item, meta) => void applied.push(meta.seq),
    ...over,
  });
  for (const k of [
    'connected',
    'subscribed',
    'caught_up',
    'gap',
    'reconnecting',
    'fatal',
    'silence',
    'closed',
  ] as const)
    c.on(k, (e: unknown) => void ((events[k] ??= []) as unknown[]).push(e));
  core = c;
  return c;
}

const hello = (over: object = {}) => ({
  type: 'hello',
  protocol: 2,
  server_id: 's1',
  epoch: 'ep1',
  head_seq: 0,
  heartbeat_ms: HB,
  authenticated: true,
  limits: { max_frame_bytes: 1, frames_per_second: 1, max_replay: 100, max_backpressure_bytes: 1 },
  time: clock.t,
  ...over,
});
const subscribed = (from: number, head: number, over: object = {}) => ({
  type: 'subscribed',
  epoch: 'ep1',
  from_seq: from,
  head_seq: head,
  first_seq: 1,
  replay_count: head - from,
  recovered: true,
  filtered: false,
  ...over,
});
const row = (seq: number, epoch = 'ep1') => ({ type: 'row', seq, epoch, text: `r${seq}` });
const sock = (i: number) => ScriptedSocket.all[i]!;

/** Open socket i and answer hello + subscribed from the cursor. */
async function handshake(i: number, head = 0): Promise<ScriptedSocket> {
  const s = sock(i);
  s.open();
  s.frame(hello({ head_seq: head }));
  const from = s.subscribes().at(-1)!.from_seq as number;
  s.frame(subscribed(from, head));
  await settle();
  return s;
}

beforeEach(() => {
  ScriptedSocket.all = [];
  clock = new ManualClock();
  applied = [];
  events = {};
});
afterEach(async () => {
  await core?.stop();
  core = undefined;
});

describe('stream core', () => {
  it('offers the Bearer subprotocols, subscribes from the cursor with epoch and filters, applies in order', async () => {
    make({ cursor: memoryCursor('ep1', 3), filters: { symbols: ['AAA'] } }).start();
    expect(sock(0).protocols).toEqual(['catalyst.v1', 'bearer.cat_k']);
    const s = await handshake(0, 5);
    expect(s.subscribes()).toEqual([
      { type: 'subscribe', from_seq: 3, epoch: 'ep1', filters: { symbols: ['AAA'] } },
    ]);
    s.onmessage?.({ data: new Uint8Array([1]) }); // binary: ignored
    s.frame({ type: 'row', seq: 4 }); // invalid: ignored
    for (const n of [4, 5]) s.frame(row(n));
    s.frame({ type: 'caught_up', seq: 5 });
    await settle();
    expect(applied).toEqual([4, 5]);
    expect(core!.cursor()).toEqual({ epoch: 'ep1', seq: 5 });
    expect(events.caught_up).toEqual([{ seq: 5 }]);
  });

  it("tokenIn 'frame': no token in the handshake, an auth frame after the unauthenticated hello", async () => {
    make({ tokenIn: 'frame' }).start();
    const s = sock(0);
    expect(s.protocols).toBeUndefined();
    s.open();
    s.frame(hello({ authenticated: false, auth_deadline_ms: 5000 }));
    expect(s.sent).toEqual([{ type: 'auth', token: 'cat_k' }]);
    await handshake(0);
    expect(s.subscribes()).toEqual([{ type: 'subscribe', from_seq: 0, epoch: 'ep1' }]);
  });

  it('back-pressure: the next item is not applied before the previous apply resolved', async () => {
    const gates: (() => void)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    make({
      apply: async (_i, meta) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => gates.push(r));
        inFlight--;
        applied.push(meta.seq);
      },
    }).start();
    const s = await handshake(0);
    for (const n of [1, 2, 3]) s.frame(row(n));
    await settle();
    expect(gates).toHaveLength(1);
    gates[0]!();
    await settle();
    expect(applied).toEqual([1]);
    expect(gates).toHaveLength(2);
    gates[1]!();
    await settle();
    gates[2]!();
    await settle();
    expect(applied).toEqual([1, 2, 3]);
    expect(maxInFlight).toBe(1);
  });

  it('a seq gap re-subscribes from the last applied seq; duplicates are not applied twice', async () => {
    make().start();
    const s = await handshake(0);
    s.frame(row(1));
    s.frame(row(1));
    s.frame(row(3));
    await settle();
    expect(applied).toEqual([1]);
    expect(events.gap).toEqual([{ from: 2, to: 2, via: 'seq' }]);
    expect(s.subscribes().at(-1)).toMatchObject({ from_seq: 1 });
    s.frame(subscribed(1, 3));
    s.frame(row(2));
    s.frame(row(3));
    await settle();
    expect(applied).toEqual([1, 2, 3]);
  });

  it('a heartbeat head above what was seen after caught_up means lost frames: re-subscribe', async () => {
    make().start();
    const s = await handshake(0);
    s.frame({ type: 'caught_up', seq: 0 });
    s.frame({ type: 'heartbeat', head_seq: 2, time: clock.t });
    expect(events.gap).toEqual([{ from: 1, to: 2, via: 'heartbeat' }]);
    expect(s.subscribes()).toHaveLength(2);
  });

  it('silence for heartbeat x misses drops the socket and reconnects after a jittered backoff, resuming', async () => {
    make().start();
    const s = await handshake(0);
    s.frame(row(1));
    await settle();
    clock.advance(2 * HB - 1);
    expect(events.silence).toBeUndefined();
    clock.advance(1);
    expect(events.silence).toEqual([{ silentMs: 2 * HB, url: 'ws://a.test/v1/stream' }]);
    expect(events.reconnecting).toEqual([
      {
        attempt: 1,
        delayMs: 25, // random 0.5 * initial 50
        reason: 'no frame from the server for 200 ms',
        url: 'ws://a.test/v1/stream',
        nextUrl: 'ws://a.test/v1/stream',
      },
    ]);
    expect(ScriptedSocket.all).toHaveLength(1);
    clock.advance(25);
    expect(ScriptedSocket.all).toHaveLength(2);
    const s2 = await handshake(1, 1);
    expect(s2.subscribes()[0]).toMatchObject({ from_seq: 1, epoch: 'ep1' });
  });

  it('backoff grows across failed attempts and resets after a recovered subscription', async () => {
    make().start();
    for (let i = 0; i < 3; i++) {
      sock(i).error('ECONNREFUSED');
      sock(i).serverClose(1006);
      clock.advance(1000);
    }
    expect(events.reconnecting!.map((r) => [r.delayMs, r.reason])).toEqual([
      [25, 'ECONNREFUSED'],
      [50, 'ECONNREFUSED'],
      [100, 'ECONNREFUSED'],
    ]);
    await handshake(3);
    sock(3).serverClose(1001, 'going_away');
    expect(events.reconnecting!.at(-1)).toMatchObject({
      delayMs: 25,
      reason: 'closed 1001 going_away',
      attempt: 1,
    });
  });

  it('a revoked key (4003) is fatal: no reconnect', async () => {
    make().start();
    await handshake(0);
    sock(0).serverClose(4003, 'key_revoked');
    await settle();
    expect(events.fatal).toMatchObject([
      { code: 'auth', message: 'server closed the stream: 4003 key_revoked' },
    ]);
    expect(events.closed).toHaveLength(1);
    clock.advance(10_000);
    expect(ScriptedSocket.all).toHaveLength(1);
  });

  it('a skewed clock reads in units a person reads, saying which side is off', async () => {
    // Was: "clock differs from the server by -103102136 ms (max 2000)".
    make().start();
    sock(0).open();
    sock(0).frame(hello({ time: clock.t - 103_102_136 }));
    await settle();
    expect(events.fatal?.[0]).toMatchObject({
      code: 'clock_skew',
      message: "this machine's clock is 1d 4h ahead of the server's (max 2.0 s)",
    });

    events = {};
    make().start();
    sock(1).open();
    sock(1).frame(hello({ time: clock.t + 5400 }));
    await settle();
    expect(events.fatal?.[0]).toMatchObject({
      code: 'clock_skew',
      message: "this machine's clock is 5.4 s behind the server's (max 2.0 s)",
    });
  });

  it('another epoch in hello, a refused epoch, an item of another epoch, or a skewed clock: fatal', async () => {
    make({ cursor: memoryCursor('ep0', 4) }).start();
    sock(0).open();
    sock(0).frame(hello());
    await settle();
    expect(events.fatal?.[0]).toMatchObject({ code: 'epoch_changed' });

    events = {};
    make().start();
    sock(1).open();
    sock(1).frame(hello({ time: clock.t + 5000 }));
    await settle();
    expect(events.fatal?.[0]).toMatchObject({ code: 'clock_skew' });

    events = {};
    make().start();
    const s = await handshake(2);
    s.frame(row(1, 'ep-other'));
    await settle();
    expect(events.fatal?.[0]).toMatchObject({ code: 'epoch_changed' });
    expect(applied).toEqual([]);
  });

  it('a failing apply is fatal with its own error, and nothing after it is applied', async () => {
    const boom = new Error('disk full');
    make({
      apply: async (_i, m) => {
        if (m.seq === 2) throw boom;
        applied.push(m.seq);
      },
    }).start();
    const s = await handshake(0);
    for (const n of [1, 2, 3]) s.frame(row(n));
    await settle();
    expect(applied).toEqual([1]);
    expect(events.fatal?.[0]).toMatchObject({ code: 'apply_failed', error: boom });
  });

  it('recovered:false without a history source accepts what the socket cannot replay, loudly, then resubscribes', async () => {
    make().start();
    const s = sock(0);
    s.open();
    s.frame(hello({ head_seq: 10 }));
    s.frame(subscribed(0, 10, { recovered: false, reason: 'trimmed', first_seq: 6 }));
    await settle();
    expect(events.gap).toEqual([{ from: 1, to: 5, via: 'accepted' }]);
    expect(s.subscribes().at(-1)).toMatchObject({ from_seq: 5 });
  });

  it('the default codec is the signal protocol; binary and invalid frames are ignored', () => {
    const sig = {
      source_id: 'x',
      symbol: 'BTC',
      catalyst: 'earnings',
      direction: 'long',
      confidence: 0.9,
      price: 1,
      headline: 'h',
      classified_at: new Date(0).toISOString(),
      seq: 7,
      epoch: 'ep1',
      ingested_at: new Date(0).toISOString(),
      sig: 'a..b',
    };
    const r = signalCodec.decode(JSON.stringify({ type: 'signal', signal: sig }));
    expect(r).toMatchObject({ ok: true, value: { type: 'item', seq: 7, epoch: 'ep1' } });
    expect(signalCodec.decode('{"type":"signal"}').ok).toBe(false);
    expect(signalCodec.decode('nope')).toEqual({ ok: false, error: 'not JSON' });
    expect(rowCodec.decode(JSON.stringify(row(3)))).toEqual({
      ok: true,
      value: { type: 'item', seq: 3, epoch: 'ep1', item: 'r3' },
    });
  });
});

describe('stream core: failover across URLs', () => {
  const urls = ['ws://a.test/v1/stream', 'ws://b.test/v1/stream', 'ws://c.test/v1/stream'];

  it('a silent gateway: the next URL is tried within two heartbeat intervals of its death, and resumes by seq once', async () => {
    make({ urls }).start();
    const a = await handshake(0);
    for (const n of [1, 2]) a.frame(row(n));
    await settle();
    a.frame({ type: 'heartbeat', head_seq: 2, time: clock.t });
    const lastFrame = clock.t;
    clock.advance(HB / 2); // the gateway dies half an interval after its last frame, without a close
    const died = clock.t;
    clock.advance((3 * HB) / 2 - 1);
    expect(ScriptedSocket.all).toHaveLength(1);
    clock.advance(1);
    expect(ScriptedSocket.all).toHaveLength(2);
    expect(clock.t - lastFrame).toBe(2 * HB); // heartbeat_misses (2) x heartbeat_ms, then at once
    expect(clock.t - died).toBeLessThanOrEqual(2 * HB);
    const b = sock(1);
    expect(b.url).toBe(urls[1]);
    expect(events.reconnecting).toEqual([
      expect.objectContaining({ delayMs: 0, url: urls[0], nextUrl: urls[1], attempt: 1 }),
    ]);
    await handshake(1, 3);
    expect(b.subscribes()[0]).toMatchObject({ from_seq: 2, epoch: 'ep1' });
    // The new gateway replays from 2: a duplicate of what A delivered (ignored), then 3.
    for (const n of [2, 3]) b.frame(row(n));
    await settle();
    expect(applied).toEqual([1, 2, 3]);
  });

  it('a closed or refused gateway: next URL at once, then backoff with jitter across the list', async () => {
    make({ urls }).start();
    await handshake(0);
    sock(0).serverClose(1006);
    clock.advance(0);
    expect(ScriptedSocket.all.map((s) => s.url)).toEqual(urls.slice(0, 2)); // no delay at all
    sock(1).error('ECONNREFUSED 10.0.0.2:8787');
    sock(1).serverClose(1006);
    expect(ScriptedSocket.all).toHaveLength(2);
    expect(events.reconnecting!.map((r) => r.delayMs)).toEqual([0, 25]); // then random 0.5 x 50
    clock.advance(25);
    expect(sock(2).url).toBe(urls[2]);
    sock(2).serverClose(1006);
    expect(events.reconnecting!.at(-1)).toMatchObject({ delayMs: 50, nextUrl: urls[0] }); // 0.5 x 100, wraps
    clock.advance(50);
    await handshake(3);
    sock(3).serverClose(1001, 'going_away');
    expect(events.reconnecting!.at(-1)).toMatchObject({ delayMs: 0, nextUrl: urls[1] }); // healthy again: at once
  });

  it('an in-flight apply on the dead gateway is not applied again when the next one replays it', async () => {
    let release!: () => void;
    make({
      urls,
      apply: async (_i, m) => {
        if (m.seq === 2) await new Promise<void>((r) => (release = r));
        applied.push(m.seq);
      },
    }).start();
    const a = await handshake(0);
    for (const n of [1, 2]) a.frame(row(n));
    await settle();
    a.serverClose(1006); // dies while 2 is being applied (cursor still 1)
    clock.advance(0);
    const b = await handshake(1, 3);
    expect(b.subscribes()[0]).toMatchObject({ from_seq: 1 });
    for (const n of [2, 3]) b.frame(row(n));
    release();
    await settle();
    expect(applied).toEqual([1, 2, 3]);
  });

  it('another epoch on another URL is fatal, naming the URL', async () => {
    make({ urls }).start();
    await handshake(0);
    sock(0).serverClose(1006);
    clock.advance(0);
    sock(1).open();
    sock(1).frame(hello({ epoch: 'ep-other' }));
    await settle();
    expect(events.fatal).toMatchObject([{ code: 'epoch_changed' }]);
    expect(events.fatal![0]!.message).toContain(`(at ${urls[1]})`);
  });
});
