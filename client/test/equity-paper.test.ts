import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { paperVenue } from '../src/venue/index.js';

// A us_equity paper config trades through the real pipeline, journal and executor, offline, with the equity
// rules: built-in exchange calendar, whole shares, brackets in regular hours, limit-only extended hours, exits of
// what this client holds, avoid blocks, info alerts never traded.

let dir: string;
let journal: Journal;
const ok = { ok: true } as const;
const MON_1000_ET = Date.parse('2026-11-23T15:00:00Z');
const MON_0800_ET = Date.parse('2026-11-23T13:00:00Z');
const MON_2300_ET = Date.parse('2026-11-24T04:00:00Z');
const THANKSGIVING = Date.parse('2026-11-26T16:00:00Z');

function deps(now: number, over: Parameters<typeof testConfig>[0] = {}) {
  const config: Config = testConfig({
    exchange: { venue: 'us_equity' },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
    sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
    ...over,
  } as never);
  const exchange = new PaperAdapter(journal, config);
  const executor = new Executor(journal, exchange, config, testLog, () => now);
  const venue = paperVenue({ config, journal, log: testLog, now: () => now }, exchange);
  return { config, journal, exchange, venue, executor, log: testLog, now: () => now };
}
let seq = 0;
const sig = (now: number, over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'ACME', price: 12.34, ...over } as Partial<Signal>, now) as Signal;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-eqp-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('us_equity paper trading', () => {
  it('regular hours: a bracket entry in whole shares, then an exit sells exactly what was bought', async () => {
    const d = deps(MON_1000_ET);
    const entry = await processSignal(
      d,
      sig(MON_1000_ET, { stop_loss: 11.5, take_profit: 14.01 }),
      ok,
      MON_1000_ET,
    );
    expect(entry.decision.reason).toBe('trade:entry');
    const i = entry.intents[0]!;
    expect(i).toMatchObject({ market: 'ACME', side: 'buy', type: 'market', status: 'filled' });
    expect(Number.isInteger(i.amount)).toBe(true);
    expect(i.amount).toBe(Math.floor(100 / (12.34 * 1.01)));
    // Deterministic per (signal, leg), within Alpaca's 128 characters.
    expect(i.client_order_id).toMatch(/^[A-Za-z0-9-]{1,128}$/);
    expect(JSON.parse(i.order_params!)).toEqual({
      timeInForce: 'gtc',
      extendedHours: false,
      orderClass: 'bracket',
      stopLoss: 11.5,
      takeProfit: 14.01,
    });
    expect(journal.positions()).toEqual([{ market: 'ACME', amount: i.amount, cost: expect.any(Number) }]);

    const exit = await processSignal(
      d,
      sig(MON_1000_ET, { action: 'exit', direction: 'neutral' }),
      ok,
      MON_1000_ET,
    );
    expect(exit.decision.reason).toBe('trade:exit');
    expect(exit.intents[0]).toMatchObject({ side: 'sell', amount: i.amount, status: 'filled' });
    expect(journal.positions()).toEqual([]);
    // Nothing left: a second exit has nothing to sell and never buys.
    const again = await processSignal(d, sig(MON_1000_ET, { action: 'exit' }), ok, MON_1000_ET);
    expect(again.decision.reason).toBe('skipped:no_holdings');
  });

  it('sessions: closed at night and on a holiday; regular_only skips pre-market; extended sends a limit', async () => {
    expect((await processSignal(deps(MON_2300_ET), sig(MON_2300_ET), ok, MON_2300_ET)).decision.reason).toBe(
      'skipped:market_closed',
    );
    expect(
      (await processSignal(deps(THANKSGIVING), sig(THANKSGIVING), ok, THANKSGIVING)).decision.reason,
    ).toBe('skipped:market_closed');
    expect((await processSignal(deps(MON_0800_ET), sig(MON_0800_ET), ok, MON_0800_ET)).decision.reason).toBe(
      'skipped:outside_regular_hours',
    );
    const ext = deps(MON_0800_ET, { equities: { session_policy: 'extended' } } as never);
    const out = await processSignal(
      ext,
      sig(MON_0800_ET, { stop_loss: 11.5, take_profit: 14 }),
      ok,
      MON_0800_ET,
    );
    expect(out.decision.reason).toBe('trade:entry');
    const i = out.intents[0]!;
    expect(i).toMatchObject({ type: 'limit', price: 12.46, status: 'filled' });
    expect(JSON.parse(i.order_params!)).toEqual({
      timeInForce: 'day',
      extendedHours: true,
      orderClass: 'simple',
      protectAtOpen: true,
    });
  });

  it('info never trades; avoid blocks later entries in the symbol for the window', async () => {
    const d = deps(MON_1000_ET);
    expect(
      (await processSignal(d, sig(MON_1000_ET, { action: 'info' }), ok, MON_1000_ET)).decision.reason,
    ).toBe('skipped:action_info');
    const avoid = await processSignal(d, sig(MON_1000_ET, { action: 'avoid' }), ok, MON_1000_ET);
    expect(avoid.decision).toMatchObject({ reason: 'skipped:avoid_signal', legs: [] });
    expect(journal.avoids(MON_1000_ET)).toMatchObject({
      ACME: { until: MON_1000_ET + 24 * 3_600_000, kind: 'avoid' },
    });
    expect((await processSignal(d, sig(MON_1000_ET), ok, MON_1000_ET)).decision.reason).toBe('skipped:avoid');
    expect(
      (await processSignal(d, sig(MON_1000_ET, { symbol: 'OTHR' }), ok, MON_1000_ET)).decision.reason,
    ).toBe('trade:entry');
  });

  it('paper refuses what the broker would: a fractional quantity of a non-fractionable asset', async () => {
    const d = deps(MON_1000_ET);
    await expect(
      d.exchange.createOrder({
        clientOrderId: 'x1',
        market: 'ACME',
        side: 'buy',
        type: 'market',
        amount: 1.5,
        refPrice: 10,
        params: { timeInForce: 'day', extendedHours: false, orderClass: 'simple' },
      }),
    ).rejects.toThrow(/not fractionable/);
    await expect(
      d.exchange.createOrder({
        clientOrderId: 'x2',
        market: 'ACME',
        side: 'buy',
        type: 'market',
        amount: 1,
        refPrice: 10,
        params: { timeInForce: 'day', extendedHours: true, orderClass: 'simple' },
      }),
    ).rejects.toThrow(/extended hours/);
  });
});
