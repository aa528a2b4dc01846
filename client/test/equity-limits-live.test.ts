import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import { limitDay } from '../src/decide/index.js';
import { AtOpen } from '../src/at-open.js';
import { decideEquitySignal } from '../src/equity-snapshot.js';
import { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { nyToMs } from './helpers/alpaca/clock.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// Issue 19 on a live us_equity config through the real ccxt.alpaca against the emulator's virtual New York
// clock: daily limits count the New York day (not the UTC one, which turns at 19:00 New York); the cooldown
// counts entries only, 0 disables it, and a decision's clock is never older than what it compares against.

let emu: AlpacaEmulator;
let ex: AlpacaAdapter | undefined;
let dir: string;
let journal: Journal;
const ok = { ok: true } as const;

async function setup(over: Record<string, unknown> = {}) {
  await ex?.close();
  const config: Config = testConfig({
    mode: 'live',
    exchange: { venue: 'us_equity', timeout_ms: 1500, alpaca: { endpoint: 'live', base_url: emu.url } },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 2000, max_total_exposure_quote: 5000 },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    ...over,
  } as never);
  ex = await AlpacaAdapter.create({
    config,
    secrets: {
      serverKey: undefined,
      exchangeApiKey: emu.keyId,
      exchangeSecret: emu.secret,
      exchangePassword: undefined,
    },
    rateLimitMs: 1,
    cancelSettleMs: 2000,
  });
  await ex.loadMarkets();
  const now = () => emu.now();
  const executor = new Executor(journal, ex, config, testLog, now);
  return { config, journal, exchange: ex, executor, log: testLog, now };
}
let seq = 0;
const sig = (over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'AAPL', price: 200, ...over } as Partial<Signal>, emu.now()) as Signal;

beforeEach(async () => {
  emu = await startAlpacaEmulator({ now: '2026-11-23T10:00' });
  dir = mkdtempSync(join(tmpdir(), 'cc-eqlim-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  await ex?.close();
  ex = undefined;
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('us_equity daily limits count the New York day', () => {
  it('limitDay: New York midnight on us_equity, UTC midnight on crypto', () => {
    const at1930 = nyToMs('2026-11-23T19:30'); // 00:30 UTC on the 24th
    expect(limitDay('us_equity', at1930)).toEqual({ day: '2026-11-23', start: nyToMs('2026-11-23T00:00') });
    expect(limitDay('crypto_spot', at1930)).toEqual({
      day: '2026-11-24',
      start: Date.parse('2026-11-24T00:00:00Z'),
    });
    // Summer (daylight time): midnight New York is 04:00 UTC.
    expect(limitDay('us_equity', Date.parse('2026-07-01T03:59:00Z')).day).toBe('2026-06-30');
    expect(limitDay('us_equity', Date.parse('2026-07-01T04:00:00Z')).day).toBe('2026-07-01');
  });

  it('max_orders_per_day: an order at 10:00 still counts in after-hours at 19:30 (00:30 UTC); the next pre-market is a new day', async () => {
    const d = await setup({
      risk: { cooldown_per_symbol_ms: 0, max_orders_per_day: 1, max_exposure_per_symbol_quote: 2000 },
      equities: { session_policy: 'extended', limit_slippage_pct: 1 },
    });
    expect((await processSignal(d, sig(), ok, emu.now())).decision.reason).toBe('trade:entry');
    emu.setClock('2026-11-23T19:30');
    const late = await processSignal(d, sig({ symbol: 'LOWP', price: 3.2 }), ok, emu.now());
    expect(late.decision).toMatchObject({ reason: 'skipped:max_orders_per_day', detail: '1 orders today' });
    emu.setClock('2026-11-24T04:30');
    const next = await processSignal(d, sig({ symbol: 'LOWP', price: 3.2 }), ok, emu.now());
    expect(next.decision.reason).toBe('trade:entry');
  });
});

describe('the per-symbol cooldown counts entries only', () => {
  const risk = { max_exposure_per_symbol_quote: 5000, max_total_exposure_quote: 9000 };

  it('cooldown 0 never skips, also when an entry was journaled during the broker reads', async () => {
    const d = await setup({ risk: { ...risk, cooldown_per_symbol_ms: 0 } });
    expect((await processSignal(d, sig(), ok, emu.now())).decision.reason).toBe('trade:entry');
    // The clock read before the broker reads is 610 ms older than the entry just journaled.
    const again = await decideEquitySignal(d, sig(), emu.now() - 610);
    expect(again.reason).toBe('trade:entry');
  });

  it('with a cooldown, an entry journaled during the reads is "just now", never a negative age', async () => {
    const d = await setup({ risk: { ...risk, cooldown_per_symbol_ms: 15 * 60_000 } });
    expect((await processSignal(d, sig(), ok, emu.now())).decision.reason).toBe('trade:entry');
    const again = await decideEquitySignal(d, sig(), emu.now() - 610);
    expect(again).toMatchObject({
      reason: 'skipped:cooldown',
      detail: 'last entry 0 s ago, cooldown 15 min',
    });
  });

  it('default 15 min: placing protection at the open does not block an entry in the symbol', async () => {
    emu.setClock('2026-11-23T08:00');
    const d = await setup({ risk, equities: { session_policy: 'extended', limit_slippage_pct: 1 } });
    expect(d.config.risk.cooldown_per_symbol_ms).toBe(15 * 60_000);
    const s = sig({ stop_loss: 190, take_profit: 220 });
    const entry = (await processSignal(d, s, ok, emu.now())).intents[0]!;
    emu.fill(entry.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    emu.setClock('2026-11-23T09:31');
    expect(await new AtOpen(d).check()).toMatchObject({ protectedOrders: 1 });
    const next = await processSignal(d, sig({ symbol: 'AAPL' }), ok, emu.now());
    expect(next.decision.reason).toBe('trade:entry');
  });
});
