import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import { startAccountRefresh, type AccountRefresh } from '../src/exchange/account-refresh.js';
import { AlpacaAdapter } from '../src/exchange/alpaca.js';
import type { EquityOrderState } from '../src/exchange/equity-types.js';
import { Executor } from '../src/executor.js';
import { followBroker } from '../src/follow.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import {
  AccountState,
  WARM_FACTS,
  WARM_REQUESTS_PER_MIN,
  type WarmFact,
} from '../src/venue/account-state.js';
import { alpacaDriver, createVenue, type VenueDriver } from '../src/venue/index.js';
import { startAlpacaEmulator, type AlpacaEmulator, type SeenRequest } from './helpers/alpaca-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// Issue 21, "zero broker reads before an order": live us_equity decisions read a warm account state kept fresh in
// the background; an entry sends no trading-API request before POST /v2/orders and at most one market-data
// request, a filtered signal sends none, and the order never waits in the background reads' throttle queue.

const ok = { ok: true } as const;
const HOUR = 3_600_000;
const never = Object.fromEntries(Object.keys(WARM_FACTS).map((f) => [f, HOUR])) as Record<WarmFact, number>;
const trading = (r: SeenRequest) => !r.path.startsWith('/v2/stocks');

let emu: AlpacaEmulator;
let dir: string;
let journal: Journal;
const closers: (() => Promise<void>)[] = [];
let seq = 0;
const sig = (over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'AAPL', price: 200, ...over } as Partial<Signal>, emu.now()) as Signal;

beforeEach(async () => {
  emu = await startAlpacaEmulator(); // Monday 2026-11-23 10:00 New York, regular session
  dir = mkdtempSync(join(tmpdir(), 'cc-warm-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const liveConfig = (over: Record<string, unknown> = {}): Config =>
  testConfig({
    mode: 'live',
    exchange: { venue: 'us_equity', timeout_ms: 3000, alpaca: { endpoint: 'live', base_url: emu.url } },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 5000, max_total_exposure_quote: 9000 },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    ...over,
  } as never);
const secrets = () => ({
  serverKey: undefined,
  exchangeApiKey: emu.keyId,
  exchangeSecret: emu.secret,
  exchangePassword: undefined,
});

/** A warm live driver whose background timers stay quiet (the test refreshes by hand). */
async function warm(over: Record<string, unknown> = {}) {
  const config = liveConfig(over);
  const ex = await AlpacaAdapter.create({ config, secrets: secrets(), rateLimitMs: 1 });
  closers.push(() => ex.close());
  await ex.loadMarkets();
  const now = () => emu.now();
  const state = new AccountState();
  const refresh: AccountRefresh = startAccountRefresh(ex, state, { log: testLog, now, schedule: never });
  closers.push(async () => refresh.stop());
  ex.onOrder = (order, price) => state.apply({ kind: 'order', order, price }, now());
  await refresh.refreshAll();
  const deps = {
    config,
    journal,
    venue: alpacaDriver({ config, journal, log: testLog, now }, ex, state),
    executor: new Executor(journal, ex, config, testLog, now),
    log: testLog,
    now,
  };
  return { deps, state, refresh };
}

/** Wait for a condition the stream brings about (polled; it delivers asynchronously). */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The requests sent before the first POST /v2/orders. */
const beforeOrder = (rs: SeenRequest[]) => {
  const i = rs.findIndex((r) => r.method === 'POST' && r.path === '/v2/orders');
  expect(i).toBeGreaterThanOrEqual(0);
  return rs.slice(0, i);
};

describe('warm account state (live us_equity)', () => {
  it('an entry sends no trading-API request before its order and one market-data request', async () => {
    const { deps } = await warm();
    emu.requests.splice(0);
    const out = await processSignal(deps, sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    expect(out.decision.reason).toBe('trade:entry');
    const before = beforeOrder(emu.requests);
    expect(before.filter(trading)).toEqual([]);
    expect(before.map((r) => r.path)).toEqual(['/v2/stocks/AAPL/snapshot']);
    expect(emu.posted(out.intents[0]!.client_order_id)).toHaveLength(1);
  });

  it('signals the filters, blocks or asset flags skip send no request at all', async () => {
    const { deps, refresh } = await warm({
      filters: { min_confidence: 0.5, symbols_deny: ['LOWP'], max_price_drift_pct: 5 },
      equities: { min_price: 1 },
    });
    emu.setAsset('AAPL', { tradable: false }); // Alpaca's asset flag during a halt
    await refresh.refreshAll();
    emu.requests.splice(0);
    const reasons = [];
    for (const s of [
      sig({ confidence: 0.2 }),
      sig({ symbol: 'LOWP', price: 3.2 }),
      // 0.5 USD, 5 % drift at most: no quote could bring it inside the 1 USD floor.
      sig({ symbol: 'PNNY', price: 0.5 }),
      sig({ symbol: 'NOPE' }),
      sig(), // AAPL is halted
      sig({ symbol: 'LOWP', price: 3.2, action: 'exit' }), // nothing held
    ])
      reasons.push((await processSignal(deps, s, ok, emu.now())).decision.reason);
    expect(reasons).toEqual([
      'skipped:confidence',
      'skipped:symbol_denied',
      'skipped:price_band',
      'skipped:no_market',
      'skipped:not_tradable',
      'skipped:no_holdings',
    ]);
    expect(emu.requests).toEqual([]);
  });

  it('refuses an entry with skipped:state_stale once a needed fact is past its bound, until a refresh', async () => {
    const { deps, refresh } = await warm();
    emu.advanceClock(WARM_FACTS.account.staleMs + 1000);
    emu.requests.splice(0);
    const stale = await processSignal(deps, sig(), ok, emu.now());
    expect(stale.decision).toMatchObject({ verdict: 'skip', reason: 'skipped:state_stale' });
    expect(stale.decision.detail).toMatch(/broker account is 21 s old \(bound 20 s\)/);
    expect(emu.requests).toEqual([]);
    await refresh.refreshAll();
    expect((await processSignal(deps, sig(), ok, emu.now())).decision.reason).toBe('trade:entry');
    // The open's work asks the session: a calendar past its bound is "cannot ask", not a guess.
    await expect(deps.venue.session!(emu.now())).resolves.toMatchObject({ kind: 'regular' });
    emu.advanceClock(WARM_FACTS.calendar.staleMs + 1000);
    await expect(deps.venue.session!(emu.now())).rejects.toThrow(/broker calendar is \d+ s old/);
  });

  it('our own order reply reserves buying power at once; a position opened at the broker shows after a refresh', async () => {
    const { deps, state, refresh } = await warm();
    const bp = state.account()!.buyingPower;
    const out = await processSignal(deps, sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    expect(out.decision.reason).toBe('trade:entry');
    expect(state.account()!.buyingPower).toBeLessThan(bp);
    emu.setPosition('LOWP', 10, 3);
    expect(state.positions().some((p) => p.symbol === 'LOWP')).toBe(false);
    await refresh.refreshAll();
    expect(state.positions().find((p) => p.symbol === 'LOWP')?.qty).toBe(10);
  });

  it('a streamed fill reaches the warm position with no positions read, and the next decision sees the shares', async () => {
    const { deps, state } = await warm();
    const follower = followBroker({ venue: deps.venue, journal, log: testLog, now: deps.now })!;
    closers.push(() => follower.close());
    await follower.ready;
    await until('stream up', () => follower.up);
    emu.requests.splice(0);
    const entry = await processSignal(deps, sig(), ok, emu.now());
    expect(entry.decision.reason).toBe('trade:entry');
    expect(state.positions()).toEqual([]);
    emu.setQuote('AAPL', { bid: 199.9, ask: 200 }); // the market order fills at the broker, told by the stream
    await until('warm position', () => state.positions().length > 0);
    expect(state.positions()).toEqual([
      { symbol: 'AAPL', qty: 4, qtyAvailable: 4, avgEntryPrice: 200, marketValue: undefined },
    ]);
    expect(state.openOrders()).toEqual([]);
    // No positions read (the background timers are an hour apart): the stream alone moved the state.
    const positionReads = () =>
      emu.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v2/positions')).length;
    expect(positionReads()).toBe(0);
    // The next decision sees the shares: an exit, decided from the warm state. (The adapter then reads the one
    // position once to size the sell - never more than the broker holds - after the decision, not before it.)
    const exit = await processSignal(deps, sig({ action: 'exit' }), ok, emu.now());
    expect(exit.decision.reason).toBe('trade:exit');
    expect(positionReads()).toBe(1);
    emu.setQuote('AAPL', { bid: 201, ask: 201.1 });
    await until('warm position sold', () => state.positions().length === 0);
  });

  it("the order never waits behind background reads: ccxt's real 333 ms pacing, reads queue saturated", async () => {
    const config = liveConfig();
    const now = () => emu.now();
    const venue: VenueDriver = await createVenue({
      config,
      journal,
      log: testLog,
      now,
      secrets: secrets(),
      live: true,
    });
    closers.push(() => venue.exchange.close());
    // A second refresher on the same adapter asking for every fact all the time: the reads queue is never empty.
    const flood = startAccountRefresh(venue.exchange as AlpacaAdapter, venue.accountState!, {
      log: testLog,
      now,
      schedule: Object.fromEntries(Object.keys(WARM_FACTS).map((f) => [f, 1])),
    });
    closers.push(async () => flood.stop());
    await venue.exchange.loadMarkets();
    const deps = {
      config,
      journal,
      venue,
      executor: new Executor(journal, venue.exchange, config, testLog, now),
      log: testLog,
      now,
    };
    // Wait until the flood has its requests queued behind one another.
    const queued = emu.requests.length;
    await new Promise<void>((resolve) => {
      const t = setInterval(() => emu.requests.length >= queued + 3 && (clearInterval(t), resolve()), 5);
    });
    const start = performance.timeOrigin + performance.now();
    const out = await processSignal(deps, sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    expect(out.decision.reason).toBe('trade:entry');
    const [post] = emu.posted(out.intents[0]!.client_order_id);
    // Behind even one queued read an order would wait ~333 ms; the quote and the order have their own queues.
    expect(post!.at - start).toBeLessThan(250);
  });
});

describe('AccountState (pure)', () => {
  const order = (over: Partial<EquityOrderState>): EquityOrderState => ({
    clientOrderId: 'cs1',
    exchangeOrderId: 'o1',
    status: 'open',
    amount: 10,
    filled: 0,
    average: undefined,
    feeQuote: 0,
    feeBase: 0,
    venueStatus: 'new',
    symbol: 'AAPL',
    side: 'buy',
    legs: [],
    ...over,
  });
  const account = {
    status: 'ACTIVE',
    tradingBlocked: false,
    accountBlocked: false,
    tradeSuspendedByUser: false,
    canTrade: true,
    buyingPower: 5000,
    cash: 5000,
    equity: 5000,
    multiplier: 1,
    shortingEnabled: false,
  };

  it('applies stream events: a new buy reserves buying power once, a fill sets the broker position, an end clears it', () => {
    const s = new AccountState();
    s.apply({ kind: 'account', account }, 0);
    s.apply({ kind: 'order', order: order({}), price: 100 }, 1);
    s.apply({ kind: 'order', order: order({ venueStatus: 'accepted' }), price: 100 }, 2); // the same order again
    expect(s.account()!.buyingPower).toBe(4000);
    s.apply(
      { kind: 'order', order: order({ status: 'closed', filled: 10, average: 101 }), positionQty: 10 },
      3,
    );
    expect(s.openOrders()).toEqual([]);
    expect(s.positions()).toEqual([
      { symbol: 'AAPL', qty: 10, qtyAvailable: 10, avgEntryPrice: 101, marketValue: undefined },
    ]);
    s.apply(
      {
        kind: 'order',
        order: order({ exchangeOrderId: 'o2', side: 'sell', status: 'closed' }),
        positionQty: 0,
      },
      4,
    );
    expect(s.positions()).toEqual([]);
  });

  it('a POST reply overtaken by the fill on the stream (or a reordered partial) changes nothing: no reopened order, no fill counted twice', () => {
    const s = new AccountState();
    s.apply({ kind: 'account', account }, 0);
    const fill = {
      key: 'fill:cs1:10',
      event: 'fill',
      orderId: 'o1',
      clientOrderId: 'cs1',
      market: 'AAPL',
      side: 'buy' as const,
      status: 'closed' as const,
      filled: 10,
      average: 100,
      qty: 10,
      price: 100,
      positionQty: 10,
      at: 1,
      legs: [],
      source: 'stream' as const,
    };
    s.apply({ kind: 'broker', event: fill }, 1);
    s.apply({ kind: 'order', order: order({}), price: 100 }, 2); // the reply, sent before the fill, read late
    s.apply({ kind: 'order', order: order({ status: 'closed', filled: 10, average: 100 }) }, 3); // or filled
    s.apply(
      {
        kind: 'broker',
        event: { ...fill, event: 'partial_fill', status: 'open', filled: 4, positionQty: 4 },
      },
      4,
    );
    expect(s.openOrders()).toEqual([]);
    expect(s.account()!.buyingPower).toBe(4000);
    expect(s.positions().map((p) => p.qty)).toEqual([10]);
  });

  it("states each fact's age; the broker clock holds only until the next open or close it announced", () => {
    const s = new AccountState();
    expect(s.stale(['account'], 0)).toEqual({
      fact: 'account',
      ageMs: undefined,
      limitMs: WARM_FACTS.account.staleMs,
    });
    s.apply({ kind: 'account', account }, 1000);
    s.apply({ kind: 'account', account }, 500); // a late reply does not age the fact
    expect(s.stale(['account'], 1000 + WARM_FACTS.account.staleMs)).toBeUndefined();
    expect(s.stale(['account'], 1001 + WARM_FACTS.account.staleMs)?.fact).toBe('account');
    s.apply({ kind: 'clock', clock: { now: 0, isOpen: true, nextOpen: 90_000, nextClose: 60_000 } }, 0);
    expect(s.brokerClock(59_999)).toEqual({ is_open: true });
    expect(s.brokerClock(60_000)).toBeUndefined();
    expect(WARM_REQUESTS_PER_MIN).toBeLessThan(50); // Alpaca allows 200/min: orders keep the rest
  });
});
