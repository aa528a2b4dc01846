import type { Bar } from '../market-data/bars.js';
import type { CalendarDay } from '../calendar/new-york.js';
import { TradingClock } from './trading-time.js';

/**
 * What a signal would have earned, from 1-minute bars, at each horizon in trading time. Pure: the signal, the
 * bars, the calendar and `now` are arguments. Figures are fractions of price, signed so that positive is good
 * for the side the signal is judged on. A figure that cannot be known is absent with a `missing` reason, never
 * zero. See docs/outcomes.md.
 */

export const HORIZONS = [
  { name: '5m', minutes: 5 },
  { name: '15m', minutes: 15 },
  { name: '30m', minutes: 30 },
  { name: '1h', minutes: 60 },
  { name: '4h', minutes: 240 },
  // A full extended trading day (04:00-20:00) is 960 minutes: 1d lands on the same time the next trading day.
  { name: '1d', minutes: 960 },
  { name: '5d', minutes: 5 * 960 },
] as const;
export type Horizon = { name: string; minutes: number };

export type Side = 'long' | 'short';

export interface OutcomeSignal {
  /** When it was published (epoch ms). */
  at: number;
  /** The signal's price. */
  price: number;
  side: Side;
  stop?: number | undefined;
  target?: number | undefined;
}

export const Missing = {
  /** The horizon has not fully passed at `now`. */
  notYet: 'not_yet',
  /** No trade inside the window (a halt, no liquidity, or no data). */
  noBars: 'no_bars',
  /** The calendar given does not reach the horizon's end. */
  noCalendar: 'no_calendar',
} as const;
export type Missing = (typeof Missing)[keyof typeof Missing];

export interface BracketOutcome {
  /** Which leg filled first. When one bar crosses both and its open crosses neither, stop (pessimistic). */
  first: 'stop' | 'target' | 'neither';
  /** Start of the bar the leg filled in. */
  barT?: number | undefined;
  /** The leg's price, or the bar's open when it opened beyond it (a gap); the last close for neither. */
  exitPrice: number;
  ret: number;
  /** ret in R-multiples (R: distance from the price to the stop), when a valid stop exists. */
  r?: number | undefined;
}

export interface HorizonOutcome {
  horizon: string;
  minutes: number;
  /** The window [start, end): from the first session minute at or after the signal. */
  start?: number | undefined;
  end?: number | undefined;
  missing?: Missing | undefined;
  bars: number;
  ret?: number | undefined;
  firstTradePrice?: number | undefined;
  retFirstTrade?: number | undefined;
  mfe?: number | undefined;
  mae?: number | undefined;
  mfeR?: number | undefined;
  maeR?: number | undefined;
  /** Trading minutes from the window's start to the end of the bar that made the MFE (absent when MFE is 0). */
  minutesToMfe?: number | undefined;
  bracket?: BracketOutcome | undefined;
  /**
   * The benchmark's own return over the same window (first open to last close of its bars there, unsigned), and
   * the signal's return minus it, signed like `ret` (a market-adjusted abnormal return: no beta is estimated).
   * Absent when no benchmark was given or it did not trade in the window.
   */
  benchRet?: number | undefined;
  abnormalRet?: number | undefined;
}

/** The side a signal is judged on: an avoid or an exit of a long wins when the price falls. */
export function judgedSide(action: 'enter' | 'exit' | 'avoid' | 'info', direction?: string | null): Side {
  const short = direction === 'short';
  if (action === 'avoid' || action === 'exit') return short ? 'long' : 'short';
  return short ? 'short' : 'long';
}

/**
 * The outcome input of a signal, as the server's worker and the client's `track-record verify` both read it:
 * judged side from the (effective) action and direction; a stop and target belong to an entry only (an avoid's
 * or an exit's would be on the wrong side).
 */
export function outcomeSignalOf(
  body: { classified_at: string; price: number; stop_loss?: number | null; take_profit?: number | null },
  action: 'enter' | 'exit' | 'avoid' | 'info',
  direction?: string | null,
): OutcomeSignal {
  const enter = action === 'enter';
  return {
    at: Date.parse(body.classified_at),
    price: body.price,
    side: judgedSide(action, direction),
    stop: enter ? (body.stop_loss ?? undefined) : undefined,
    target: enter ? (body.take_profit ?? undefined) : undefined,
  };
}

/** Calendar days from a signal's time that cover its longest horizon (5 trading days), holidays included. */
export const OUTCOME_CALENDAR_DAYS = 14;

/** The stop's distance as a fraction of the price, when the stop is on the losing side. */
function riskOf(s: OutcomeSignal): number | undefined {
  if (s.stop === undefined) return undefined;
  const r = s.side === 'long' ? (s.price - s.stop) / s.price : (s.stop - s.price) / s.price;
  return r > 0 ? r : undefined;
}

/**
 * The first bracket leg (entry at the signal's price) to fill on these bars. A level crossed at a bar's open
 * fills at the open; inside a bar the path between trades is continuous, so a level fills at its price. When one
 * bar crosses both levels and its open neither, a 1-minute bar cannot say which came first: stop.
 */
export function bracketOnBars(s: OutcomeSignal, bars: readonly Bar[]): BracketOutcome | undefined {
  const long = s.side === 'long';
  const stop = s.stop !== undefined && (long ? s.stop < s.price : s.stop > s.price) ? s.stop : undefined;
  const target =
    s.target !== undefined && (long ? s.target > s.price : s.target < s.price) ? s.target : undefined;
  if (stop === undefined && target === undefined) return undefined;
  const risk = riskOf(s);
  const done = (first: BracketOutcome['first'], exitPrice: number, barT?: number): BracketOutcome => {
    const ret = (long ? 1 : -1) * (exitPrice / s.price - 1);
    return { first, barT, exitPrice, ret, r: risk === undefined ? undefined : ret / risk };
  };
  const beyondStop = (p: number) => stop !== undefined && (long ? p <= stop : p >= stop);
  const beyondTarget = (p: number) => target !== undefined && (long ? p >= target : p <= target);
  for (const b of bars) {
    if (beyondStop(b.o)) return done('stop', b.o, b.t);
    if (beyondTarget(b.o)) return done('target', b.o, b.t);
    const stopHit = beyondStop(long ? b.l : b.h);
    const targetHit = beyondTarget(long ? b.h : b.l);
    if (stopHit) return done('stop', stop!, b.t);
    if (targetHit) return done('target', target!, b.t);
  }
  const last = bars[bars.length - 1];
  return last ? done('neither', last.c) : undefined;
}

/** Index of the first bar starting at or after `t` (bars oldest first): windows are cut by binary search. */
function firstAtOrAfter(bars: readonly Bar[], t: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bars[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Outcomes at each horizon. `bars` and `benchmark`: one symbol's 1-minute bars each, oldest first (any range;
 * the windows are cut here).
 */
export function computeOutcomes(
  s: OutcomeSignal,
  bars: readonly Bar[],
  calendar: readonly CalendarDay[],
  now: number,
  horizons: readonly Horizon[] = HORIZONS,
  benchmark?: readonly Bar[],
): HorizonOutcome[] {
  const clock = new TradingClock(calendar);
  const start = clock.align(s.at);
  const dir = s.side === 'long' ? 1 : -1;
  const risk = riskOf(s);
  return horizons.map((h) => {
    const base = { horizon: h.name, minutes: h.minutes, bars: 0 };
    const end = start === undefined ? undefined : clock.add(start, h.minutes);
    if (start === undefined || end === undefined) return { ...base, start, missing: Missing.noCalendar };
    if (end > now) return { ...base, start, end, missing: Missing.notYet };
    const win = bars.slice(firstAtOrAfter(bars, start), firstAtOrAfter(bars, end));
    if (win.length === 0) return { ...base, start, end, missing: Missing.noBars };
    const first = win[0]!;
    const last = win[win.length - 1]!;
    // Excursions count the entry price itself: MFE >= 0 >= MAE.
    let best = s.price;
    let worst = s.price;
    let bestBar: Bar | undefined;
    for (const b of win) {
      const fav = dir > 0 ? b.h : b.l;
      const adv = dir > 0 ? b.l : b.h;
      if (dir * (fav - best) > 0) {
        best = fav;
        bestBar = b;
      }
      if (dir * (adv - worst) < 0) worst = adv;
    }
    const mfe = dir * (best / s.price - 1);
    const mae = dir * (worst / s.price - 1);
    const ret = dir * (last.c / s.price - 1);
    const bench = benchmark
      ? benchmark.slice(firstAtOrAfter(benchmark, start), firstAtOrAfter(benchmark, end))
      : [];
    const benchRet = bench.length > 0 ? bench[bench.length - 1]!.c / bench[0]!.o - 1 : undefined;
    return {
      ...base,
      start,
      end,
      bars: win.length,
      ret,
      firstTradePrice: first.o,
      retFirstTrade: dir * (last.c / first.o - 1),
      mfe,
      mae,
      mfeR: risk === undefined ? undefined : mfe / risk,
      maeR: risk === undefined ? undefined : mae / risk,
      minutesToMfe: bestBar ? clock.between(start, bestBar.t + 60_000) : undefined,
      bracket: bracketOnBars(s, win),
      benchRet,
      abnormalRet: benchRet === undefined ? undefined : ret - dir * benchRet,
    };
  });
}
