import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Bar } from '@catalyst-signal/shared/market-data';
import { runBacktest } from '../src/backtest/engine.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { barsSource, entrySignal, ny } from './helpers/backtest.js';

/**
 * A bracket's outcome in the backtest equals a brute-force, tick-by-tick walk of its legs over the price path the
 * bars were made from, except where the bars cannot know the order: when one bar crosses both legs, the backtest
 * takes the stop (said in its output). Between two ticks of a bar the price moves continuously (a level crossed
 * is traded at the level); between bars it may gap (the open is the first price).
 */

const D = '2026-11-23';
const cents = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((c) => c / 100);

// A narrow band of cents: ticks often sit exactly on a level, where off-by-one comparisons hide.
const path = fc.array(fc.array(cents(960, 1040), { minLength: 1, maxLength: 6 }), {
  minLength: 1,
  maxLength: 25,
});

function toBars(ticks: number[][]): Bar[] {
  return ticks.map((t, i) => ({
    t: ny(D, '10:00') + i * 60_000,
    o: t[0]!,
    h: Math.max(...t),
    l: Math.min(...t),
    c: t[t.length - 1]!,
    v: 100,
  }));
}

/** The legs walked tick by tick: [bar index, exit price] of the first leg reached, or undefined. */
function walk(ticks: number[][], sl: number, tp: number): [number, number] | undefined {
  for (let i = 0; i < ticks.length; i++) {
    const bar = ticks[i]!;
    for (let k = 0; k < bar.length; k++) {
      const p = bar[k]!;
      // The first tick of a bar is where it opened: a gap through a level trades at that price.
      if (p <= sl) return [i, k === 0 ? p : sl];
      if (p >= tp) return [i, k === 0 ? p : tp];
    }
  }
  return undefined;
}

describe('backtest bracket vs a tick-by-tick reference', () => {
  it('exits where, and at the price, the walk of its legs does (stop first when one bar crosses both)', async () => {
    await fc.assert(
      fc.asyncProperty(path, cents(1, 40), cents(1, 40), async (ticks, dSl, dTp) => {
        const entry = ticks[0]![0]!;
        const sl = Math.round((entry - dSl) * 100) / 100;
        const tp = Math.round((entry + dTp) * 100) / 100;
        fc.pre(sl >= 1);
        const r = await runBacktest({
          config: testConfig({
            exchange: { venue: 'us_equity' },
            sizing: { mode: 'fixed_quote', fixed_quote: 100 },
            paper: { fee_rate: 0, slippage_pct: 0 },
          } as never),
          signals: [entrySignal(ny(D, '10:00'), { price: entry, stop_loss: sl, take_profit: tp })],
          market: barsSource({ ABC: toBars(ticks) }),
          from: ny(D, '09:30'),
          to: ny(D, '16:00'),
          log: testLog,
        });
        const trade = r.trades[0]!;
        expect(trade.entryPrice).toBe(entry);
        const ref = walk(ticks, sl, tp);
        if (!ref) {
          expect(trade.open).toBe(true);
          return;
        }
        const [i, price] = ref;
        const bar = toBars(ticks)[i]!;
        expect(trade.exitAt).toBe(bar.t + 59_999);
        const both = bar.l <= sl && bar.h >= tp;
        // Both legs in one bar: the stop, at its level or the open when the bar opened through it.
        expect(trade.exitPrice).toBeCloseTo(both ? Math.min(bar.o, sl) : price, 9);
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
