import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import type { PriceStep } from '../src/paper/fill-rules.js';
import type { PriceSource } from '../src/paper/prices.js';
import { processSignal } from '../src/pipeline.js';
import { paperPrices, paperVenue } from '../src/venue/index.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca/server.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { WorkingOrders } from '../src/working-orders.js';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { startBinanceEmulator } from './helpers/binance-emulator.js';

// Paper that behaves like the broker: resting limits fill when the price source crosses them, bracket legs
// trigger and move the journal's position, DAY orders expire at the (simulated) close, an exit cancels the
// legs first; paper.prices alpaca reads the broker's quotes through the shared market-data seam.

let dir: string;
let journal: Journal;
const ok = { ok: true } as const;
const MON_0800_ET = Date.parse('2026-11-23T13:00:00Z');
const MON_1000_ET = Date.parse('2026-11-23T15:00:00Z');

/** A price source a test moves by hand: every symbol trades at `price` (a bar when `bar` is set). */
function scripted(start: number) {
  const s = { price: start, bar: undefined as Omit<PriceStep, 't'> | undefined };
  const source: PriceSource = {
    next: async (symbols, t) =>
      new Map(
        symbols.map(({ symbol }) => [
          symbol,
          { t, ...(s.bar ?? { o: s.price, h: s.price, l: s.price, c: s.price }) },
        ]),
      ),
  };
  return { s, source };
}

function deps(clock: { at: number }, prices: PriceSource, over: Record<string, unknown> = {}) {
  const config: Config = testConfig({
    exchange: { venue: 'us_equity' },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
    sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
    equities: { session_policy: 'extended' },
    ...over,
  } as never);
  const now = () => clock.at;
  const exchange = new PaperAdapter(journal, config, undefined, MON_0800_ET, { prices, now });
  const executor = new Executor(journal, exchange, config, testLog, now);
  const venue = paperVenue({ config, journal, log: testLog, now }, exchange);
  return { config, journal, exchange, venue, executor, log: testLog, now };
}
let seq = 0;
const sig = (now: number, over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'ACME', price: 12.34, ...over } as Partial<Signal>, now) as Signal;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-pbrk-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('paper broker', () => {
  it('an extended-hours limit rests until the price crosses it (not immediate-or-cancel), then fills at its limit or better', async () => {
    const clock = { at: MON_0800_ET };
    const { s, source } = scripted(13.2); // above the limit: not marketable when placed
    const d = deps(clock, source);
    const out = await processSignal(d, sig(clock.at), ok, clock.at);
    const entry = out.intents[0]!;
    expect(entry).toMatchObject({ type: 'limit', status: 'open', filled: 0 });
    const limit = entry.price!;
    expect(JSON.parse(entry.order_params!)).toMatchObject({ extendedHours: true, timeInForce: 'day' });

    clock.at += 60_000;
    s.price = limit + 0.05;
    expect(await d.exchange.tick()).toBe(false);
    clock.at += 60_000;
    s.price = limit - 0.1;
    expect(await d.exchange.tick()).toBe(true);
    await d.executor.reconcileAll();
    const filled = journal.intent(entry.client_order_id)!;
    expect(filled).toMatchObject({ status: 'filled', filled: entry.amount });
    expect(filled.avg_price).toBeCloseTo(limit - 0.1, 9);
    expect(filled.avg_price!).toBeLessThanOrEqual(limit);
    expect(journal.positions()).toEqual([{ market: 'ACME', amount: entry.amount, cost: expect.any(Number) }]);
  });

  it("a bracket's stop leg fills when the price falls through it: the target is cancelled, the position is flat, the loss realized", async () => {
    const clock = { at: MON_1000_ET };
    const { s, source } = scripted(12.34);
    const d = deps(clock, source);
    const out = await processSignal(d, sig(clock.at, { stop_loss: 11.5, take_profit: 14.01 }), ok, clock.at);
    const entry = out.intents[0]!;
    expect(entry).toMatchObject({ status: 'filled' });
    expect(
      journal.intentsFor(entry.epoch, entry.seq).map((i) => [i.leg, i.status, i.stop_loss ?? i.take_profit]),
    ).toEqual([
      ['bracket_sl', 'open', 11.5],
      ['bracket_tp', 'open', 14.01],
      ['entry', 'filled', 11.5],
    ]);
    // A bar through both levels: the stop fills (the stated rule), never the target.
    clock.at += 60_000;
    s.bar = { o: 12.3, h: 14.5, l: 11, c: 12 };
    expect(await d.exchange.tick()).toBe(true);
    await d.executor.reconcileAll();
    const legs = Object.fromEntries(journal.intentsFor(entry.epoch, entry.seq).map((i) => [i.leg, i]));
    expect(legs['bracket_sl']).toMatchObject({ status: 'filled', filled: entry.amount, side: 'sell' });
    expect(legs['bracket_sl']!.avg_price!).toBeLessThanOrEqual(11.5);
    expect(legs['bracket_tp']).toMatchObject({ status: 'canceled', filled: 0 });
    expect(journal.positions()).toEqual([]);
    expect(journal.totalRealized()).toBeLessThan(0);
    // The next tick changes nothing: a leg is filled once.
    clock.at += 60_000;
    expect(await d.exchange.tick()).toBe(false);
    // A bracket is one order request: its legs do not count toward max_orders_per_day.
    expect(journal.decisionState(clock.at, { equity: 1, freeQuote: 1 }, 0).ordersToday).toBe(1);
  });

  it('an exit cancels the resting bracket legs first and sells what is held', async () => {
    const clock = { at: MON_1000_ET };
    const { source } = scripted(12.34);
    const d = deps(clock, source);
    const out = await processSignal(d, sig(clock.at, { stop_loss: 11.5, take_profit: 14.01 }), ok, clock.at);
    const entry = out.intents[0]!;
    clock.at += 60_000;
    const exit = await processSignal(
      d,
      sig(clock.at, { action: 'exit', direction: 'neutral' }),
      ok,
      clock.at,
    );
    expect(exit.intents[0]).toMatchObject({ leg: 'exit', status: 'filled', filled: entry.amount });
    expect(
      journal
        .intentsFor(entry.epoch, entry.seq)
        .filter((i) => i.leg.startsWith('bracket_'))
        .map((i) => i.status),
    ).toEqual(['canceled', 'canceled']);
    expect(journal.positions()).toEqual([]);
  });

  it('a DAY extended-hours limit expires at the after-hours close of the simulated market clock', async () => {
    // Real time Sunday; the simulated market: Monday 19:58 ET at 60x.
    const REAL = Date.parse('2026-11-29T15:00:00Z');
    const clock = { at: REAL };
    const { s, source } = scripted(13.2);
    const config: Config = testConfig({
      exchange: { venue: 'us_equity' },
      risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
      sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
      equities: { session_policy: 'extended' },
      paper: { market_clock: { start: '2026-11-23T19:58:00-05:00', speed: 60 } },
    } as never);
    const now = () => clock.at;
    const exchange = new PaperAdapter(journal, config, undefined, REAL, { prices: source, now });
    const executor = new Executor(journal, exchange, config, testLog, now);
    const d = {
      config,
      journal,
      exchange,
      executor,
      log: testLog,
      now,
      venue: paperVenue({ config, journal, log: testLog, now }, exchange),
    };
    const out = await processSignal(d, sig(clock.at), ok, clock.at);
    const entry = out.intents[0]!;
    expect(entry).toMatchObject({ status: 'open', type: 'limit' });
    clock.at = REAL + 1000; // 19:59 ET: still resting
    expect(await exchange.tick()).toBe(false);
    clock.at = REAL + 2000; // 20:00 ET: the after-hours close; the price crossing now is too late
    s.price = 1;
    expect(await exchange.tick()).toBe(true);
    await executor.reconcileAll();
    expect(journal.intent(entry.client_order_id)).toMatchObject({ status: 'canceled', filled: 0 });
    expect(journal.positions()).toEqual([]);
  });
});

describe('working orders on the paper twin', () => {
  it('replaced toward the price (a new order id, the old one ends), filled through the replacement', async () => {
    const clock = { at: MON_0800_ET };
    const { s, source } = scripted(12.6);
    const d = deps(clock, source, {
      equities: {
        session_policy: 'extended',
        limit_slippage_pct: 2,
        reprice_after_ms: 60_000,
        max_reprices: 2,
      },
    });
    const entry = (await processSignal(d, sig(clock.at), ok, clock.at)).intents[0]!;
    expect(entry).toMatchObject({ status: 'open', price: 12.34 });
    const w = new WorkingOrders({ ...d, now: d.now });
    clock.at += 61_000;
    expect(await w.check()).toBe(1);
    // Ladder step 1 of 2 toward the bound 12.58 (12.34 + 2%): 12.46.
    expect(journal.paperOrder(`${entry.client_order_id}-r1`)).toMatchObject({ status: 'open' });
    expect(journal.paperOrder(entry.client_order_id)).toMatchObject({ status: 'canceled' });
    clock.at += 1000;
    s.price = 12.45;
    expect(await d.exchange.tick()).toBe(true);
    await d.executor.reconcileAll();
    expect(journal.intent(entry.client_order_id)).toMatchObject({ status: 'filled', avg_price: 12.45 });
  });
});

describe('crypto paper with an exchange configured', () => {
  it("a protective stop-loss rests and triggers at the exchange's public ticker; the position closes", async () => {
    const emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
    try {
      const config: Config = testConfig({
        exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
        risk: { cooldown_per_symbol_ms: 0 },
        execution: { protective_orders: 'stop_loss', protective_limit_offset_pct: 0.5 },
      });
      // Public data only: no keys (as createVenue builds it for paper).
      const source = await CcxtAdapter.create({ config, secrets: undefined });
      const clock = { at: Date.now() };
      const now = () => clock.at;
      const exchange = new PaperAdapter(journal, config, source, clock.at, { now });
      await exchange.loadMarkets();
      const executor = new Executor(journal, exchange, config, testLog, now);
      const d = {
        config,
        journal,
        exchange,
        executor,
        log: testLog,
        now,
        venue: paperVenue({ config, journal, log: testLog, now }, exchange),
      };
      const btc = emu.markets.get('BTCUSDT')!;
      const entry = await processSignal(
        d,
        baseSignal(1, { stop_loss: btc.price * 0.95 }) as Signal,
        ok,
        clock.at,
      );
      expect(entry.intents[0]).toMatchObject({ status: 'filled' });
      const sl = journal.intentsFor(entry.intents[0]!.epoch, 1).find((i) => i.leg === 'sl')!;
      expect(sl).toMatchObject({ status: 'open', type: 'stop_loss' });
      expect(await exchange.tick()).toBe(false);
      // Through the stop (95%), within its limit (0.5% below): a stop-limit sells at the trigger price. (A gap
      // below the limit would leave it resting as a limit, as a real stop-limit does.)
      btc.price = btc.price * 0.948;
      expect(await exchange.tick()).toBe(true);
      await executor.reconcileAll();
      expect(journal.intent(sl.client_order_id)).toMatchObject({ status: 'filled' });
      expect(journal.positions()).toEqual([]);
      await exchange.close();
    } finally {
      await emu.close();
    }
  });
});

describe('paper.prices alpaca', () => {
  let emu: AlpacaEmulator;
  beforeEach(async () => {
    emu = await startAlpacaEmulator();
  });
  afterEach(async () => {
    await emu.close();
  });

  it("fills follow the broker's quotes (the shared market-data seam, the friend's own data keys)", async () => {
    const config: Config = testConfig({
      exchange: { venue: 'us_equity', alpaca: { base_url: emu.url } },
      risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
      sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
      equities: { session_policy: 'extended' },
      paper: { prices: 'alpaca' },
    } as never);
    const secrets = {
      serverKey: undefined,
      exchangeApiKey: undefined,
      exchangeSecret: undefined,
      exchangePassword: undefined,
    };
    await expect(paperPrices({ config, journal, log: testLog, secrets })).rejects.toThrow(
      /paper\.prices alpaca reads quotes with your Alpaca data keys: set APCA_API_KEY_ID and APCA_API_SECRET_KEY/,
    );
    const prices = await paperPrices({
      config,
      journal,
      log: testLog,
      secrets: { ...secrets, exchangeApiKey: emu.keyId, exchangeSecret: emu.secret },
    });
    emu.setQuote('LOWP', { bid: 3.5, ask: 3.52 });
    const clock = { at: MON_0800_ET };
    const now = () => clock.at;
    const exchange = new PaperAdapter(journal, config, undefined, MON_0800_ET, { prices, now });
    const executor = new Executor(journal, exchange, config, testLog, now);
    const d = {
      config,
      journal,
      exchange,
      executor,
      log: testLog,
      now,
      venue: paperVenue({ config, journal, log: testLog, now }, exchange),
    };
    // The signal says 3.20; the market asks 3.52: the pre-market limit rests.
    const out = await processSignal(d, sig(clock.at, { symbol: 'LOWP', price: 3.2 }), ok, clock.at);
    const entry = out.intents[0]!;
    expect(entry).toMatchObject({ status: 'open' });
    const asked = emu.requests.filter((r) => r.path === '/v2/stocks/quotes/latest').length;
    expect(asked).toBeGreaterThan(0);
    expect(emu.requests.filter((r) => r.method !== 'GET')).toEqual([]); // quotes only, never an order
    emu.setQuote('LOWP', { bid: 3.1, ask: 3.15 });
    clock.at += 60_000;
    expect(await exchange.tick()).toBe(true);
    await executor.reconcileAll();
    expect(journal.intent(entry.client_order_id)).toMatchObject({ status: 'filled', avg_price: 3.15 });
  });
});
