import { describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Bar } from '@catalyst-signal/shared/market-data';
import { runBacktest } from '../src/backtest/engine.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { bar, barsSource, entrySignal, ny } from './helpers/backtest.js';

/**
 * Known answers: hand-built 1-minute bars, one signal each, through the real pipeline and the paper broker's
 * fill rules. Sizing 100 USD at $10 buys 9 shares (whole shares, the fee reserved); fee 0.1 % a side.
 */

const D = '2026-11-23'; // a Monday, a full trading day
const D2 = '2026-11-24';

const cfg = (over: Record<string, unknown> = {}, paper: Record<string, unknown> = {}) =>
  testConfig({
    exchange: { venue: 'us_equity' },
    sizing: { mode: 'fixed_quote', fixed_quote: 100 },
    paper: { fee_rate: 0.001, slippage_pct: 0, starting_balance_quote: 1000, ...paper },
    ...over,
  } as never);

const run = (signals: Signal[], bars: Bar[], config = cfg()) =>
  runBacktest({
    config,
    signals,
    market: barsSource({ ABC: bars }),
    from: ny(D, '04:00'),
    to: ny(D2, '20:00'),
    log: testLog,
  });

const fee = (x: number) => x * 0.001;

describe('backtest engine (known answers on hand-built bars)', () => {
  it('a bracket whose target and stop are both crossed in one bar exits at the stop', async () => {
    const r = await run(
      [entrySignal(ny(D, '10:00:30'), { take_profit: 10.5, stop_loss: 9.5 })],
      [
        bar(D, '10:00', [9.9, 9.9, 9.9, 9.9]),
        bar(D, '10:01', [10, 10.1, 9.9, 10]), // the first trade after the signal: entry at its open
        bar(D, '10:02', [10, 10.6, 9.4, 10]), // both legs crossed: the stop, the worse outcome
      ],
    );
    expect(r.trades).toHaveLength(1);
    const t = r.trades[0]!;
    expect(t).toMatchObject({ amount: 9, entryPrice: 10, exitPrice: 9.5, open: false, session: 'regular' });
    expect(t.entryAt).toBe(ny(D, '10:00:30'));
    expect(t.exitAt).toBe(ny(D, '10:02') + 59_999);
    expect(t.pnl).toBeCloseTo(9 * 9.5 - fee(85.5) - (90 + fee(90)), 9);
    expect(r.endingEquity).toBeCloseTo(1000 + t.pnl, 9);
    expect(r.maxDrawdown).toBeCloseTo(-t.pnl, 9);
  });

  it('the target alone crossed exits at the target; a gap through the stop exits at the open', async () => {
    const up = await run(
      [entrySignal(ny(D, '10:00'), { take_profit: 10.5, stop_loss: 9.5 })],
      [bar(D, '10:00', [10, 10.2, 9.8, 10]), bar(D, '10:01', [10.2, 10.7, 10.1, 10.6])],
    );
    expect(up.trades[0]).toMatchObject({ entryPrice: 10, exitPrice: 10.5, open: false });
    const gap = await run(
      [entrySignal(ny(D, '15:50'), { take_profit: 10.5, stop_loss: 9.5 })],
      [
        bar(D, '15:50', [10, 10.2, 9.8, 10]),
        bar(D2, '09:30', [9, 9.1, 8.8, 9]), // opened the next day below the GTC stop
      ],
    );
    expect(gap.trades[0]).toMatchObject({ entryPrice: 10, exitPrice: 9, open: false });
    expect(gap.trades[0]!.exitAt).toBe(ny(D2, '09:30') + 59_999);
  });

  it('slippage against you on the market entry; an open position is marked at the last close', async () => {
    const r = await run(
      [entrySignal(ny(D, '10:00'))],
      [bar(D, '10:00', [10, 10, 10, 10]), bar(D, '15:59', [11, 11, 11, 11])],
      cfg({}, { slippage_pct: 1 }),
    );
    const t = r.trades[0]!;
    expect(t).toMatchObject({ entryPrice: 10.1, open: true, amount: 9 });
    expect(t.pnl).toBeCloseTo(9 * 11 - (9 * 10.1 + fee(90.9)), 9);
  });

  it('hold_until_open: a pre-market entry is decided again at the open and fills at the first bar of the session', async () => {
    const r = await run(
      [entrySignal(ny(D, '08:00'), { take_profit: 10.5, stop_loss: 9.5 })],
      [
        bar(D, '08:00', [9, 9, 9, 9]), // pre-market: nothing is placed yet
        bar(D, '09:30', [10, 10.1, 9.9, 10]),
        bar(D, '09:31', [10, 10.6, 10, 10.5]),
      ],
      cfg({ equities: { session_policy: 'hold_until_open' } }),
    );
    expect(r.byReason).toMatchObject({ 'deferred:until_open': 1 });
    expect(r.trades).toHaveLength(1);
    expect(r.trades[0]).toMatchObject({ entryPrice: 10, exitPrice: 10.5, open: false, session: 'regular' });
    expect(r.trades[0]!.entryAt).toBe(ny(D, '09:30'));
  });

  it('a pre-market limit rests until the price crosses it, fills at the limit or the better open, and a DAY limit never crossed expires', async () => {
    const ext = cfg({ equities: { session_policy: 'extended' }, execution: { limit_offset_pct: 0 } });
    const filled = await run(
      [entrySignal(ny(D, '08:00'), { price: 10 })],
      [
        bar(D, '08:00', [10.3, 10.4, 10.2, 10.3]), // above the limit: nothing
        bar(D, '08:07', [10.2, 10.2, 9.95, 10]), // crossed: filled at the limit, not at the low
      ],
      ext,
    );
    const limit = filled.fills[0]!.price;
    expect(filled.fills[0]).toMatchObject({ side: 'buy', t: ny(D, '08:07') + 59_999 });
    expect(limit).toBeGreaterThanOrEqual(10);
    expect(limit).toBeLessThan(10.2);
    expect(filled.trades[0]).toMatchObject({ session: 'pre', open: true });

    const never = await run(
      [entrySignal(ny(D, '08:00'), { price: 10 })],
      [bar(D, '08:00', [10.3, 10.4, 10.2, 10.3]), bar(D2, '08:00', [9, 9, 9, 9])],
      ext,
    );
    // Expired at the after-hours close: the next day's lower price is never met.
    expect(never.fills).toHaveLength(0);
    expect(never.endingEquity).toBe(1000);
  });
});
