import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { cryptoSpotDriver, paperVenue } from '../src/venue/index.js';

// Exits on crypto spot (issue 19 item 3), against the REAL ccxt.binance class and the emulator, which locks a
// resting order's balance as Binance does: an `exit` sells exactly what this client holds, after cancelling its own
// resting stop-loss (which holds that very balance); a stop that filled first leaves nothing to sell and nothing
// is sent; a v1 short with sell_holdings gets the same cancel-first.

let emu: BinanceEmulator;
let dir: string;
let journal: Journal;
let ex: CcxtAdapter | undefined;
const ok = { ok: true } as const;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
  dir = mkdtempSync(join(tmpdir(), 'cc-exit-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  await ex?.close();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deps(over: Parameters<typeof testConfig>[0] = {}) {
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
    risk: { cooldown_per_symbol_ms: 0, short_on_spot: 'sell_holdings' },
    execution: { protective_orders: 'stop_loss', protective_limit_offset_pct: 0.5 },
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
const exitSignal = (seq: number) => sig(seq, { action: 'exit', direction: undefined, confidence: 1 });

/** Buy BTC with a stop-loss resting on the emulator; returns the stop's intent. */
async function enterWithStop(d: Awaited<ReturnType<typeof deps>>) {
  const entry = await processSignal(d, sig(1, { stop_loss: 57000 }), ok, Date.now());
  expect(entry.intents[0]!.status).toBe('filled');
  const sl = journal.intentsFor('ep-test', 1).find((i) => i.leg === 'sl')!;
  expect(sl.status).toBe('open');
  // The stop holds the whole position: what is free is dust below one amount step.
  expect((await ex!.balances()).free['BTC'] ?? 0).toBeLessThan(0.00001);
  return sl;
}

describe('exit on crypto spot (live, emulator)', () => {
  it('sells exactly what this client holds, after cancelling its resting stop-loss', async () => {
    const d = await deps();
    const sl = await enterWithStop(d);
    const held = journal.positions()[0]!.amount;
    const out = await processSignal(d, exitSignal(2), ok, Date.now());
    expect(out.decision).toMatchObject({ verdict: 'trade', reason: 'trade:exit' });
    expect(out.intents[0]).toMatchObject({ leg: 'exit', side: 'sell', status: 'filled', amount: 0.0004 });
    expect(held).toBeGreaterThanOrEqual(0.0004);
    expect(journal.intent(sl.client_order_id)!.status).toBe('canceled');
    expect(emu.ordersFor(sl.client_order_id)).toMatchObject([{ status: 'CANCELED' }]);
    expect(emu.orders).toHaveLength(3); // entry, stop, exit: one each
    expect(journal.positions().find((p) => p.market === 'BTC/USDT')?.amount ?? 0).toBeLessThan(0.00001);
    // Reconciling afterwards neither re-places the stop nor sells again.
    await d.executor.reconcileAll();
    expect(emu.orders).toHaveLength(3);
  });

  it('a v1 short with sell_holdings also cancels the stop first (it was refused for the locked balance)', async () => {
    const d = await deps();
    const sl = await enterWithStop(d);
    const out = await processSignal(d, sig(2, { direction: 'short' }), ok, Date.now());
    expect(out.intents[0]).toMatchObject({ leg: 'exit', status: 'filled', amount: 0.0004 });
    expect(journal.intent(sl.client_order_id)!.status).toBe('canceled');
  });

  it('a stop that filled before the exit leaves nothing to sell: no sell order is sent', async () => {
    const d = await deps();
    const sl = await enterWithStop(d);
    emu.trigger(sl.client_order_id); // the client has not seen this fill yet
    const out = await processSignal(d, exitSignal(2), ok, Date.now());
    expect(out.decision.reason).toBe('trade:exit');
    expect(out.intents[0]).toMatchObject({ status: 'canceled', filled: 0 });
    expect(out.intents[0]!.error).toMatch(/nothing left to sell/);
    expect(journal.intent(sl.client_order_id)!.status).toBe('filled');
    expect(emu.orders).toHaveLength(2);
  });

  it('an exit with nothing held is skipped:no_holdings without asking the exchange anything', async () => {
    const d = await deps();
    const before = emu.requests.length;
    const out = await processSignal(d, exitSignal(1), ok, Date.now());
    expect(out.decision).toMatchObject({ verdict: 'skip', reason: 'skipped:no_holdings' });
    expect(emu.requests.slice(before)).toEqual([]);
  });
});

describe('exit on crypto spot (paper)', () => {
  it('sells the paper position and cancels the paper stop', async () => {
    const config = testConfig({
      risk: { cooldown_per_symbol_ms: 0 },
      execution: { protective_orders: 'stop_loss' },
    });
    const paper = new PaperAdapter(journal, config);
    await paper.loadMarkets();
    const d = {
      config,
      journal,
      exchange: paper,
      venue: paperVenue({ config, journal, log: testLog, now: Date.now }, paper),
      executor: new Executor(journal, paper, config, testLog),
      log: testLog,
      now: Date.now,
    };
    await processSignal(d, sig(1, { stop_loss: 57000 }), ok, Date.now());
    const sl = journal.intentsFor('ep-test', 1).find((i) => i.leg === 'sl')!;
    expect(sl.status).toBe('open');
    const out = await processSignal(d, exitSignal(2), ok, Date.now());
    expect(out.intents[0]).toMatchObject({ leg: 'exit', status: 'filled' });
    expect(journal.intent(sl.client_order_id)!.status).toBe('canceled');
    expect(journal.positions()).toEqual([]);
  });
});
