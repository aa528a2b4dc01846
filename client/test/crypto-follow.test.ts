import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { ccxtEventSource } from '../src/exchange/ccxt-follow.js';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { Executor } from '../src/executor.js';
import { followBroker, type Follower } from '../src/follow.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { cryptoSpotDriver } from '../src/venue/index.js';
import { followedMarkets } from '../src/venue/crypto-spot.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// Crypto spot follows the broker too (issue 21): the REAL ccxt.pro binance class watches the emulator's spot
// user-data stream (WebSocket API userDataStream.subscribe.signature, executionReport per execution); every
// execution reaches order_events once with Binance's trade id, positions derive from those fills (fees included),
// a stream cut is caught up over REST on reconnect, duplicates are ignored, and a class without watch* is polled.

let emu: BinanceEmulator;
let dir: string;
let journal: Journal;
let ex: CcxtAdapter | undefined;
let follower: Follower | undefined;
const ok = { ok: true } as const;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
  dir = mkdtempSync(join(tmpdir(), 'cc-follow-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  await follower?.close();
  follower = undefined;
  await ex?.close();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function deps(o: { stream?: boolean; pollMs?: number } = {}) {
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
    server: { reconnect: { initial_delay_ms: 20, max_delay_ms: 100, jitter: 'none' } },
    risk: { cooldown_per_symbol_ms: 0 },
    execution: { protective_orders: 'stop_loss', protective_limit_offset_pct: 0.5 },
  });
  ex = await CcxtAdapter.create({
    config,
    secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
  });
  await ex.loadMarkets();
  // A ccxt class that cannot stream: the same exchange with its watch capabilities switched off.
  if (o.stream === false) ex.reads.has['watchMyTrades'] = false;
  const events = ccxtEventSource(ex, {
    symbols: followedMarkets(journal),
    reconnect: config.server.reconnect,
    pollMs: o.pollMs ?? 5000,
    log: testLog,
  });
  const executor = new Executor(journal, ex, config, testLog);
  const venue = cryptoSpotDriver({ config, journal, log: testLog, now: Date.now }, ex, undefined, events);
  return { config, journal, exchange: ex, venue, executor, log: testLog, now: Date.now };
}

const sig = (seq: number, over: Partial<Signal> = {}) => baseSignal(seq, over) as Signal;
const fillsOf = (coid: string) =>
  journal.orderEventsFor(coid).filter((e) => e.event === 'fill' || e.event === 'partial_fill');
const btcHeld = () => journal.positions().find((p) => p.market === 'BTC/USDT')?.amount ?? 0;

async function follow(d: Awaited<ReturnType<typeof deps>>) {
  follower = followBroker({ venue: d.venue, journal, log: testLog })!;
  expect(follower).toBeDefined();
  await follower.ready;
}

describe('following a crypto exchange (ccxt.pro binance, user-data stream)', () => {
  it("a market buy's several executions are each journaled once, with Binance's trade ids; the position is the broker's", async () => {
    const d = await deps();
    expect(d.venue.events!.follow).toBeDefined();
    await follow(d);
    await until('stream up', () => follower!.up);
    emu.splitNext(3);
    const out = await processSignal(d, sig(1), ok, Date.now());
    const entry = out.intents.find((i) => i.leg === 'entry')!;
    await until('three executions', () => fillsOf(entry.client_order_id).length === 3);
    const fills = fillsOf(entry.client_order_id);
    const trades = emu.ordersFor(entry.client_order_id)[0]!.trades;
    expect(fills.map((f) => f.execution_id).sort()).toEqual(trades.map((t) => String(t.id)).sort());
    expect(fills.map((f) => f.source)).toEqual(['stream', 'stream', 'stream']);
    const byId = (a: { execution_id: string | null }, b: { execution_id: string | null }) =>
      Number(a.execution_id) - Number(b.execution_id);
    expect([...fills].sort(byId).map((f) => f.qty)).toEqual(trades.map((t) => t.qty));
    // Fees taken in BTC on each execution: the journal holds exactly what the exchange holds.
    expect(btcHeld()).toBeCloseTo(emu.balances.get('BTC')!, 10);
    // A catch-up reads the same executions back over REST: no new fill (at most the order's `new`, which
    // watchOrders may have folded into its trades), and a second one nothing at all.
    await follower!.catchUp();
    expect(fillsOf(entry.client_order_id)).toHaveLength(3);
    const rest = journal.orderEventsFor(entry.client_order_id).filter((e) => e.source === 'rest');
    expect(rest.every((e) => e.event === 'new')).toBe(true);
    expect(await follower!.catchUp()).toBe(0);
    expect(btcHeld()).toBeCloseTo(emu.balances.get('BTC')!, 10);
  });

  it('a stream cut: the fill made during it is caught up over REST on reconnect, exactly once', async () => {
    const d = await deps();
    await follow(d);
    await until('stream up', () => follower!.up);
    const out = await processSignal(d, sig(1, { stop_loss: 57000 }), ok, Date.now());
    const sl = journal.intentsFor('ep-test', 1).find((i) => i.leg === 'sl')!;
    expect(sl.status).toBe('open');
    emu.userStream.cut = true;
    emu.userStream.drop();
    await until('stream down', () => !follower!.up);
    emu.trigger(sl.client_order_id); // sold at the exchange while the client cannot hear it
    expect(journal.intent(sl.client_order_id)!.status).toBe('open');
    emu.userStream.cut = false;
    await until('stop filled in the journal', () => journal.intent(sl.client_order_id)!.status === 'filled');
    await until('stream up again', () => follower!.up);
    const caught = fillsOf(sl.client_order_id);
    expect(caught).toHaveLength(1);
    expect(caught[0]).toMatchObject({ source: 'rest', execution_id: expect.any(String) });
    expect(btcHeld()).toBeCloseTo(emu.balances.get('BTC')!, 10);
    expect(out.intents[0]!.status).toBe('filled');
    // Another reconnect reads it all again: still one row per execution.
    emu.userStream.drop();
    await until('stream up once more', () => follower!.up && emu.userStream.subscribers === 1);
    expect(await follower!.catchUp()).toBe(0);
    expect(fillsOf(sl.client_order_id)).toHaveLength(1);
  });

  it('every report sent twice: the duplicates are ignored', async () => {
    const d = await deps();
    await follow(d);
    await until('stream up', () => follower!.up);
    emu.userStream.duplicate = true;
    emu.splitNext(2);
    const out = await processSignal(d, sig(1), ok, Date.now());
    const entry = out.intents.find((i) => i.leg === 'entry')!;
    await until('two executions', () => fillsOf(entry.client_order_id).length === 2);
    const reports = emu.userStream.sent.filter((e) => e['e'] === 'executionReport');
    expect(reports).toHaveLength(3); // new + 2 trades, each delivered twice
    // ccxt's watchOrders keeps an order's latest report only: a NEW followed at once by its trades may be folded
    // into them (see docs/broker-events.md); every execution arrives through watchMyTrades.
    const events = journal.orderEventsFor(entry.client_order_id).map((e) => e.key);
    expect(new Set(events).size).toBe(events.length);
    expect(
      fillsOf(entry.client_order_id)
        .map((f) => f.execution_id)
        .sort(),
    ).toEqual(reports.slice(1).map((r) => String(r['t'])));
    expect(btcHeld()).toBeCloseTo(emu.balances.get('BTC')!, 10);
  });
});

describe('following a crypto exchange whose ccxt class cannot stream', () => {
  it('is polled over REST at its interval: a fill at the exchange reaches the journal', async () => {
    const d = await deps({ stream: false, pollMs: 50 });
    expect(d.venue.events!.follow).toBeUndefined();
    expect(d.venue.events!.pollMs).toBe(50);
    await follow(d);
    await processSignal(d, sig(1, { stop_loss: 57000 }), ok, Date.now());
    const sl = journal.intentsFor('ep-test', 1).find((i) => i.leg === 'sl')!;
    expect(sl.status).toBe('open');
    emu.trigger(sl.client_order_id);
    await until('stop filled by a poll', () => journal.intent(sl.client_order_id)!.status === 'filled');
    expect(fillsOf(sl.client_order_id)).toMatchObject([{ source: 'rest' }]);
    expect(btcHeld()).toBeCloseTo(emu.balances.get('BTC')!, 10);
    expect(emu.userStream.subscribers).toBe(0);
    // The poll is the link: connected while reads succeed.
    expect(JSON.parse(journal.meta('presence.broker')!)).toMatchObject({ state: 'connected' });
  });
});
