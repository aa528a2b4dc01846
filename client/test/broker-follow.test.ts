import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { followBroker, type Follower } from '../src/follow.js';
import { processSignal } from '../src/pipeline.js';
import { useEquityLive } from './helpers/equity-live.js';
import { testLog } from './helpers/logger.js';

// Following the broker: Alpaca's trade_updates stream (the emulator sends binary frames like the paper stream,
// can duplicate, reorder and cut it) is journaled once per event, a bracket leg that fills at the broker moves the
// journal's position (derived from fills), and what happened while the stream was cut is caught up over REST
// (orders + FILL activities) exactly once.

const ctx = useEquityLive();
const ok = { ok: true } as const;
let follower: Follower | undefined;
afterEach(async () => {
  await follower?.close();
  follower = undefined;
});

/** Wait for a condition of the journal or the emulator (polled; the stream delivers asynchronously). */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

type Json = Record<string, unknown>;

/** A bracket entry for 4 AAPL through the pipeline, filled at the ask of 200 once it is live. */
async function bracketEntry() {
  const { emu, journal } = ctx;
  const d = await ctx.deps();
  follower = followBroker({ venue: d.venue, journal, log: testLog, now: d.now })!;
  expect(follower).toBeDefined();
  await follower.ready;
  await until('stream up', () => follower!.up);
  const out = await processSignal(d, ctx.sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
  const entry = out.intents[0]!;
  emu.setQuote('AAPL', { bid: 199.9, ask: 200 });
  await until('entry filled', () => journal.intent(entry.client_order_id)?.status === 'filled');
  const legs = emu.order(entry.client_order_id)!.legs;
  return { d, entry, legs };
}

describe('following the broker (Alpaca trade_updates)', () => {
  it('the emulator speaks Alpaca: authenticate, listen, binary frames by default, JSON text when asked', async () => {
    const { emu } = ctx;
    const ws = new WebSocket(`${emu.url.replace('http', 'ws')}/stream`);
    const frames: { binary: boolean; msg: Json }[] = [];
    ws.on('message', (data, binary) => frames.push({ binary, msg: JSON.parse(String(data)) as Json }));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ action: 'authenticate', data: { key_id: emu.keyId, secret_key: emu.secret } }));
    ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
    await until('listening', () => frames.some((f) => f.msg['stream'] === 'listening'));
    expect(frames[0]!.msg).toEqual({
      stream: 'authorization',
      data: { action: 'authenticate', status: 'authorized' },
    });
    const res = await fetch(`${emu.url}/v2/orders`, {
      method: 'POST',
      headers: { 'apca-api-key-id': emu.keyId, 'apca-api-secret-key': emu.secret },
      body: JSON.stringify({
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        qty: '3',
        limit_price: '190',
        time_in_force: 'day',
        client_order_id: 'raw-1',
      }),
    });
    expect(res.status).toBe(200);
    await until('new', () => frames.some((f) => (f.msg['data'] as Json)?.['event'] === 'new'));
    expect(frames.every((f) => f.binary)).toBe(true);
    emu.stream.controls.binary = false;
    emu.fill('raw-1', { qty: 1, price: 189.5 });
    await until('partial', () => frames.some((f) => (f.msg['data'] as Json)?.['event'] === 'partial_fill'));
    const part = frames.find((f) => (f.msg['data'] as Json)?.['event'] === 'partial_fill')!;
    expect(part.binary).toBe(false);
    expect(part.msg['data']).toMatchObject({ qty: '1', price: '189.5', position_qty: '1' });
    expect((part.msg['data'] as Json)['execution_id']).toEqual(expect.any(String));
    ws.close();
  });

  it("a bracket's stop filling at the broker reaches the journal: status, fill event, position from fills", async () => {
    const { emu, journal } = ctx;
    const { entry, legs } = await bracketEntry();
    expect(journal.positions()).toEqual([{ market: 'AAPL', amount: 4, cost: 800 }]);
    // The stop triggers at the broker (last <= 190): nothing in the client asked for this sale.
    emu.setQuote('AAPL', { bid: 189, ask: 189.2, last: 189 });
    const stop = legs.find((l) => l.leg === 'stop_loss')!;
    expect(stop.status).toBe('filled');
    await until('position flat', () => journal.positions().length === 0);
    const rows = journal.orderEventsFor(entry.client_order_id);
    const legFill = rows.filter((r) => r.order_id === stop.id && r.event === 'fill');
    expect(legFill).toHaveLength(1);
    expect(legFill[0]).toMatchObject({ qty: 4, price: 189, filled: 4, execution_id: expect.any(String) });
    // The take-profit leg was cancelled by the broker (OCO): journaled too, linked through the parent.
    const tp = legs.find((l) => l.leg === 'take_profit')!;
    await until('tp canceled', () =>
      journal
        .orderEventsFor(entry.client_order_id)
        .some((r) => r.order_id === tp.id && r.event === 'canceled'),
    );
    expect(journal.totalRealized()).toBeCloseTo(4 * 189 - 800, 9);
  });

  it('duplicated and reordered events change nothing: each is journaled once, the position is the same', async () => {
    const { emu, journal } = ctx;
    emu.stream.controls.duplicate = true;
    emu.stream.controls.reorder = true;
    const { entry, legs } = await bracketEntry();
    emu.setQuote('AAPL', { bid: 189, ask: 189.2, last: 189 });
    await until('position flat', () => journal.positions().length === 0);
    const stop = legs.find((l) => l.leg === 'stop_loss')!;
    await until('every raised event journaled', () => journal.orderEventCount() >= emu.stream.raised.length);
    expect(journal.orderEventCount()).toBe(emu.stream.raised.length);
    expect(
      journal
        .orderEventsFor(entry.client_order_id)
        .filter((r) => r.order_id === stop.id && r.event === 'fill'),
    ).toHaveLength(1);
    expect(journal.totalRealized()).toBeCloseTo(4 * 189 - 800, 9);
  });

  it('a leg that fills while the stream is cut is caught up over REST on reconnect, exactly once', async () => {
    const { emu, journal } = ctx;
    const { entry, legs } = await bracketEntry();
    emu.dropStream(true);
    await until('stream down', () => !follower!.up);
    emu.setQuote('AAPL', { bid: 221, ask: 221.2, last: 221 });
    const tp = legs.find((l) => l.leg === 'take_profit')!;
    expect(tp.status).toBe('filled');
    // Nothing reached the client: the stream is down and has no replay.
    expect(journal.positions()).toEqual([{ market: 'AAPL', amount: 4, cost: 800 }]);
    emu.restoreStream();
    await until('position flat after catch-up', () => journal.positions().length === 0);
    const fills = journal
      .orderEventsFor(entry.client_order_id)
      .filter((r) => r.order_id === tp.id && r.event === 'fill');
    expect(fills).toHaveLength(1);
    expect(fills[0]!.source).toBe('rest');
    // Caught up again (timer, another reconnect): nothing new.
    expect(await follower!.catchUp()).toBe(0);
    expect(journal.totalRealized()).toBeCloseTo(4 * 221 - 800, 9);
  });

  it("a sale in the broker's app is journaled as an event of an order the client does not know; its position stays", async () => {
    const { emu, journal } = ctx;
    const { legs } = await bracketEntry();
    for (const l of legs) emu.appCancel(l.id);
    const sale = emu.appSell('AAPL', 4);
    await until('app sale journaled', () =>
      journal.orderEvents(100).some((r) => r.order_id === sale.id && r.event === 'fill'),
    );
    const row = journal.orderEvents(100).find((r) => r.order_id === sale.id && r.event === 'fill')!;
    expect(row.intent_id).toBeNull();
    // Not the client's fill: the difference with the broker is for reconciliation to report, not to trade around.
    expect(journal.positions()).toEqual([{ market: 'AAPL', amount: 4, cost: 800 }]);
  });

  it('without the stream, an exit asks the broker before saying "nothing held" (the fill had not reached the journal)', async () => {
    const { emu, journal } = ctx;
    const d = await ctx.deps();
    const out = await processSignal(d, ctx.sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    const entry = out.intents[0]!;
    emu.setQuote('AAPL', { bid: 199.9, ask: 200 });
    // The broker filled it; no stream, no reconcile yet: the journal still thinks nothing is held.
    expect(journal.positions()).toEqual([]);
    const exit = await processSignal(d, ctx.sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    expect(exit.decision.reason).toBe('trade:exit');
    expect(journal.intent(entry.client_order_id)!.status).toBe('filled');
    expect(emu.posted(exit.intents[0]!.client_order_id)[0]!.body).toMatchObject({ side: 'sell', qty: '4' });
  });

  it('an exit after the stop already filled at the broker sells nothing and says so', async () => {
    const { emu, journal } = ctx;
    const d = await ctx.deps();
    await processSignal(d, ctx.sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    emu.setQuote('AAPL', { bid: 199.9, ask: 200 });
    await d.executor.reconcileAll();
    expect(journal.positions()).toEqual([{ market: 'AAPL', amount: 4, cost: 800 }]);
    emu.setQuote('AAPL', { bid: 189, ask: 189.2, last: 189 });
    const posts = emu.requests.filter((r) => r.method === 'POST').length;
    const exit = await processSignal(d, ctx.sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    expect(exit.decision).toMatchObject({
      reason: 'skipped:no_holdings',
      detail: expect.stringContaining('nothing held in AAPL by this client'),
    });
    expect(emu.requests.filter((r) => r.method === 'POST').length).toBe(posts);
    expect(journal.positions()).toEqual([]);
    expect(journal.totalRealized()).toBeCloseTo(4 * 189 - 800, 9);
  });

  it("an exit cancels this client's open legs first and takes the stream's event as the cancel's confirmation", async () => {
    const { emu, journal } = ctx;
    const { d, legs } = await bracketEntry();
    const exit = await processSignal(d, ctx.sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    expect(exit.decision.reason).toBe('trade:exit');
    for (const l of legs) expect(l.status).toBe('canceled');
    // Confirmed by the canceled events, not by reading each leg back.
    const legReads = emu.requests.filter(
      (r) => r.method === 'GET' && legs.some((l) => r.path === `/v2/orders/${l.id}`),
    );
    expect(legReads).toEqual([]);
    expect(emu.posted(exit.intents[0]!.client_order_id)[0]!.body).toMatchObject({ side: 'sell', qty: '4' });
    emu.setQuote('AAPL', { bid: 205, ask: 205.1 });
    await until('flat', () => journal.positions().length === 0);
    expect(journal.totalRealized()).toBeCloseTo(4 * 205 - 800, 9);
  });

  it('an exit after a sale outside the client sells nothing and journals why', async () => {
    const { emu } = ctx;
    const { d, legs } = await bracketEntry();
    for (const l of legs) emu.appCancel(l.id);
    emu.appSell('AAPL', 4);
    const exit = await processSignal(d, ctx.sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    expect(exit.decision.reason).toBe('trade:exit');
    expect(exit.intents[0]).toMatchObject({
      status: 'canceled',
      filled: 0,
      error: expect.stringContaining('nothing held at the broker'),
    });
    expect(emu.posted(exit.intents[0]!.client_order_id)).toEqual([]);
  });

  it('a stream that never subscribes is dropped and dialled again, with backoff, until it does', async () => {
    const { emu } = ctx;
    const d = await ctx.deps();
    emu.stream.controls.silent = true;
    let live = 0;
    const s = (d.venue.exchange as AlpacaAdapter).tradeStream({
      reconnect: { initial_delay_ms: 10, factor: 2, max_delay_ms: 50, jitter: 'none' },
      onEvent: () => undefined,
      onLive: () => (live += 1),
      subscribeTimeoutMs: 100,
    });
    s.start();
    try {
      await until('a silent socket dialled again', () => emu.stream.connections >= 2);
      expect(live).toBe(0);
      emu.stream.controls.silent = false;
      await until('subscribed', () => s.up);
      expect(live).toBe(1);
    } finally {
      await s.close();
    }
  });
});
