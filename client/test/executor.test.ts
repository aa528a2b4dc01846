import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { CLIENT_ORDER_ID_RE, clientOrderId } from '../src/order-id.js';
import type { Config } from '../src/config.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { cryptoSpotDriver } from '../src/venue/index.js';

// Executor + pipeline against the REAL ccxt.binance class and the emulator: write-ahead, reconcile on doubt,
// partial fills, and never a second order for one (seq, leg).

let emu: BinanceEmulator;
let dir: string;
let journal: Journal;
let ex: CcxtAdapter;
let config: Config;
const ok = { ok: true } as const;

async function setup(over: Parameters<typeof testConfig>[0] = {}) {
  config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 400 },
    risk: { cooldown_per_symbol_ms: 0 },
    ...over,
  });
  ex = await CcxtAdapter.create({
    config,
    secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
  });
  await ex.loadMarkets();
  const executor = new Executor(journal, ex, config, testLog);
  const venue = cryptoSpotDriver({ config, journal, log: testLog, now: Date.now }, ex);
  return { config, journal, exchange: ex, venue, executor, log: testLog, now: Date.now };
}

const sig = (seq: number, over: Partial<Signal> = {}) => baseSignal(seq, over) as Signal;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
  dir = mkdtempSync(join(tmpdir(), 'cc-exec-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  await ex?.close();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('executor (live, emulator)', () => {
  it('journals the intent, sends one order with the deterministic id, records the fill and position', async () => {
    const deps = await setup();
    const out = await processSignal(deps, sig(1), ok, Date.now());
    expect(out.decision.verdict).toBe('trade');
    const i = out.intents[0]!;
    expect(i.client_order_id).toBe(clientOrderId(journal.installSalt(), 'ep-test', 1, 'entry'));
    expect(i.client_order_id).toMatch(CLIENT_ORDER_ID_RE);
    expect(i).toMatchObject({ status: 'filled', filled: 0.00041, avg_price: 60000 });
    expect(emu.ordersFor(i.client_order_id)).toHaveLength(1);
    // Binance charges the buy fee in base: the position holds what we actually received.
    const [p] = journal.positions();
    expect(p!.amount).toBeCloseTo(0.00041 * 0.999, 12);
    expect(p!.cost).toBeCloseTo(0.00041 * 60000, 8);
    // Executing a finished intent again is a no-op.
    await deps.executor.execute(journal.intent(i.client_order_id)!);
    expect(emu.orders).toHaveLength(1);
  });

  it('a reply after the timeout: reconciles by clientOrderId instead of sending again', async () => {
    const deps = await setup();
    emu.delayOrderReplies(1500);
    const out = await processSignal(deps, sig(1), ok, Date.now());
    const i = out.intents[0]!;
    expect(i.status).toBe('filled');
    expect(emu.ordersFor(i.client_order_id)).toHaveLength(1);
    expect(emu.orders).toHaveLength(1);
  });

  it('-2010 insufficient balance: rejected, journaled, no position', async () => {
    const deps = await setup({ sizing: { fixed_quote: 100 } });
    // The decision saw 1000 USDT; the exchange has 10 by the time the order lands.
    ex.balances = async () => ({ free: { USDT: 1000 } });
    emu.balances.set('USDT', 10);
    const out = await processSignal(deps, sig(1), ok, Date.now());
    expect(out.intents[0]).toMatchObject({ status: 'rejected' });
    expect(out.intents[0]!.error).toMatch(/insufficient/);
    expect(journal.positions()).toHaveLength(0);
    expect(emu.orders).toHaveLength(0);
  });

  it('an exchange outage before the order is a journaled skip, not a crash', async () => {
    const deps = await setup();
    ex.balances = async () => {
      throw new Error('ExchangeNotAvailable');
    };
    const out = await processSignal(deps, sig(1), ok, Date.now());
    expect(out.decision).toMatchObject({ verdict: 'skip', reason: 'skipped:exchange_unavailable' });
    expect(journal.cursor().seq).toBe(1);
    expect(emu.orders).toHaveLength(0);
  });

  it('partial fill of a limit order: recorded, then completed by reconcile exactly once', async () => {
    const deps = await setup({
      execution: { order_type: 'limit', limit_offset_pct: 0.1 },
      sizing: { fixed_quote: 50 },
    });
    emu.partialNext(0.5);
    const out = await processSignal(deps, sig(1), ok, Date.now());
    const i = out.intents[0]!;
    expect(i.status).toBe('open');
    expect(i.filled).toBeGreaterThan(0);
    expect(i.filled).toBeLessThan(i.amount);
    expect(journal.positions()[0]!.amount).toBeCloseTo(i.filled * 0.999, 12);
    emu.fillRest(i.client_order_id);
    await deps.executor.reconcileAll();
    await deps.executor.reconcileAll();
    const done = journal.intent(i.client_order_id)!;
    expect(done).toMatchObject({ status: 'filled', filled: i.amount });
    expect(journal.positions()[0]!.amount).toBeCloseTo(i.amount * 0.999, 12);
    expect(emu.orders).toHaveLength(1);
  });

  it('restart reconcile: a fresh never-sent intent is sent once; a stale one is abandoned', async () => {
    const deps = await setup();
    const salt = journal.installSalt();
    const leg = {
      leg: 'entry' as const,
      market: 'BTC/USDT',
      side: 'buy' as const,
      type: 'market' as const,
      amount: 0.0002,
      refPrice: 60000,
      quote: 12,
    };
    const decision = { verdict: 'trade' as const, reason: 'trade:entry' as const, legs: [leg] };
    const fresh = clientOrderId(salt, 'ep-test', 1, 'entry');
    const stale = clientOrderId(salt, 'ep-test', 2, 'entry');
    journal.recordDecision({
      signal: sig(1),
      receivedAt: Date.now(),
      decidedAt: Date.now(),
      decision,
      intents: [{ clientOrderId: fresh, leg }],
    });
    journal.recordDecision({
      signal: sig(2),
      receivedAt: 0,
      decidedAt: Date.now() - 10 * 60_000,
      decision,
      intents: [{ clientOrderId: stale, leg }],
    });
    const r = await deps.executor.reconcileAll();
    expect(r).toMatchObject({ checked: 2, resent: 1, abandoned: 1 });
    expect(emu.ordersFor(fresh)).toHaveLength(1);
    expect(emu.ordersFor(stale)).toHaveLength(0);
    expect(journal.intent(stale)!.status).toBe('abandoned');
    await deps.executor.reconcileAll();
    expect(emu.orders).toHaveLength(1);
  });

  it('a short with sell_holdings sells exactly what this client holds and realizes P&L', async () => {
    const deps = await setup({ risk: { short_on_spot: 'sell_holdings', cooldown_per_symbol_ms: 0 } });
    await processSignal(deps, sig(1), ok, Date.now());
    emu.markets.get('BTCUSDT')!.price = 66000;
    const out = await processSignal(deps, sig(2, { direction: 'short', price: 66000 }), ok, Date.now());
    expect(out.intents[0]).toMatchObject({ side: 'sell', status: 'filled', amount: 0.0004 });
    const state = journal.decisionState(Date.now(), { equity: 0, freeQuote: 0 });
    expect(state.dailyPnl).toBeGreaterThan(2);
    expect(state.ordersToday).toBe(2);
  });
});

describe('protective orders (live, emulator)', () => {
  it('after the entry fills, one stop-loss-limit for what was received; it fills later and realizes the loss', async () => {
    const deps = await setup({
      execution: { protective_orders: 'stop_loss', protective_limit_offset_pct: 0.5 },
    });
    const out = await processSignal(deps, sig(1, { stop_loss: 57000 }), ok, Date.now());
    const sl = journal.intentsFor('ep-test', 1).find((i) => i.leg === 'sl')!;
    expect(out.intents[0]!.status).toBe('filled');
    expect(sl).toMatchObject({
      side: 'sell',
      type: 'stop_loss',
      stop_loss: 57000,
      price: 56715,
      status: 'open',
    });
    const [emuSl] = emu.ordersFor(sl.client_order_id);
    expect(emuSl).toMatchObject({ type: 'STOP_LOSS_LIMIT', stopPrice: 57000, price: 56715, side: 'SELL' });
    // sells what the position holds (entry amount minus the base fee), on the step
    expect(sl.amount).toBe(0.0004);
    await deps.executor.reconcileAll();
    expect(emu.orders).toHaveLength(2);
    emu.trigger(sl.client_order_id);
    await deps.executor.reconcileAll();
    expect(journal.intent(sl.client_order_id)!.status).toBe('filled');
    expect(journal.decisionState(Date.now(), { equity: 0, freeQuote: 0 }).dailyPnl).toBeLessThan(-1);
    expect(emu.orders).toHaveLength(2);
  });

  it('a restart between the entry fill and the protective intent places it once', async () => {
    const deps = await setup({ execution: { protective_orders: 'take_profit' } });
    // First run without protection: as if the process died right after recording the entry fill.
    const offDeps = {
      ...deps,
      executor: new Executor(
        journal,
        ex,
        { ...config, execution: { ...config.execution, protective_orders: 'off' } },
        testLog,
      ),
    };
    await processSignal(offDeps, sig(1, { take_profit: 66000 }), ok, Date.now());
    expect(journal.unprotectedEntries()).toHaveLength(1);
    await deps.executor.reconcileAll();
    await deps.executor.reconcileAll();
    const tp = journal.intentsFor('ep-test', 1).filter((i) => i.leg === 'tp');
    expect(tp).toHaveLength(1);
    expect(emu.ordersFor(tp[0]!.client_order_id)).toMatchObject([
      { type: 'TAKE_PROFIT_LIMIT', stopPrice: 66000 },
    ]);
  });
});

describe('clientOrderId', () => {
  it('is deterministic, distinct per leg/seq/epoch/salt, and within Binance limits', () => {
    const a = clientOrderId('salt1234', 'ep', 123456789, 'entry');
    expect(a).toBe(clientOrderId('salt1234', 'ep', 123456789, 'entry'));
    expect(
      new Set([
        a,
        clientOrderId('salt1234', 'ep', 123456789, 'exit'),
        clientOrderId('salt1234', 'ep2', 123456789, 'entry'),
        clientOrderId('salt9999', 'ep', 123456789, 'entry'),
        clientOrderId('salt1234', 'ep', 123456788, 'entry'),
      ]).size,
    ).toBe(5);
    for (const seq of [1, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      const id = clientOrderId('abcdEFGH', 'some-long-epoch-value', seq, 'entry');
      expect(id).toMatch(CLIENT_ORDER_ID_RE);
      expect(clientOrderId('abcdEFGH', 'e', seq, 'entry', 20).length).toBeLessThanOrEqual(20);
    }
  });
});
