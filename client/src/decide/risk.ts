import type { Config, VenueKind } from '../config.js';
import type { ReasonCode } from './reasons.js';
import { newYorkDayStart } from './sessions.js';
import { formatDuration } from './time-text.js';
import type { DecisionState, Position } from './types.js';

/** Risk limits: pure checks over a state snapshot. Exits (risk-reducing sells) pass fewer checks than entries. */

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export { utcDay };

/**
 * The day the daily limits count (max_daily_loss_quote, max_orders_per_day): the UTC day on crypto spot (a
 * market that never closes), the New York calendar day on us_equity. UTC midnight is 19:00 New York, inside
 * after-hours, so a UTC day would reset the limits in the middle of a trading day's sessions; the New York day
 * holds pre-market, regular and after-hours (04:00-20:00) whole.
 */
export function limitDay(venue: VenueKind | undefined, now: number): { day: string; start: number } {
  if (venue !== 'us_equity') {
    const day = utcDay(now);
    return { day, start: Date.parse(`${day}T00:00:00Z`) };
  }
  const start = newYorkDayStart(now);
  // The New York date: midnight New York is 04:00 or 05:00 UTC of the same date.
  return { day: utcDay(start + 6 * 3_600_000), start };
}

export function exposure(positions: readonly Position[]): number {
  return positions.reduce((sum, p) => sum + Math.max(0, p.cost), 0);
}

export function checkEntryRisk(
  r: Config['risk'],
  state: DecisionState,
  market: string,
  now: number,
): { reason: ReasonCode; detail: string } | { capQuote: number } {
  if (state.dailyPnl <= -r.max_daily_loss_quote) {
    return {
      reason: 'skipped:daily_loss',
      detail: `today's P&L ${state.dailyPnl.toFixed(2)} <= -${r.max_daily_loss_quote}`,
    };
  }
  if (state.ordersToday >= r.max_orders_per_day) {
    return { reason: 'skipped:max_orders_per_day', detail: `${state.ordersToday} orders today` };
  }
  const last = state.lastTradeAt[market];
  // 0 disables the cooldown. An entry journaled after this decision's clock was read (a concurrent path) is
  // "just now", never a negative age.
  if (last !== undefined && r.cooldown_per_symbol_ms > 0) {
    const ago = Math.max(0, now - last);
    if (ago < r.cooldown_per_symbol_ms)
      return {
        reason: 'skipped:cooldown',
        detail: `last entry ${formatDuration(ago)} ago, cooldown ${formatDuration(r.cooldown_per_symbol_ms)}`,
      };
  }
  const open = state.positions.filter((p) => p.amount > 0);
  const held = open.find((p) => p.market === market);
  if (!held && open.length >= r.max_open_positions) {
    return { reason: 'skipped:max_open_positions', detail: `${open.length} open` };
  }
  const symbolRoom = r.max_exposure_per_symbol_quote - (held ? Math.max(0, held.cost) : 0);
  const totalRoom = r.max_total_exposure_quote - exposure(state.positions);
  if (symbolRoom <= 0) return { reason: 'skipped:symbol_exposure', detail: `${market} at its exposure cap` };
  if (totalRoom <= 0) return { reason: 'skipped:total_exposure', detail: 'total exposure at its cap' };
  // Leave room for the fee and a little adverse movement of a market order.
  const balanceRoom = state.freeQuote * 0.99;
  if (balanceRoom <= 0) return { reason: 'skipped:insufficient_balance', detail: `free ${state.freeQuote}` };
  return { capQuote: Math.min(symbolRoom, totalRoom, balanceRoom) };
}

export function checkExitRisk(
  r: Config['risk'],
  state: DecisionState,
): { reason: ReasonCode; detail: string } | undefined {
  if (state.ordersToday >= r.max_orders_per_day) {
    return { reason: 'skipped:max_orders_per_day', detail: `${state.ordersToday} orders today` };
  }
  return undefined;
}
