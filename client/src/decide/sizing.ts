import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../config.js';
import type { ReasonCode } from './reasons.js';
import type { MarketInfo } from './types.js';

/**
 * Order sizing: pure arithmetic on steps. Amounts are always truncated to the amount step (never rounded up
 * past a cap) and checked against the market minimums after rounding, because that is what the exchange sees.
 */

function decimals(step: number): number {
  const s = step.toExponential();
  const [mant, exp] = s.split('e');
  const frac = (mant!.split('.')[1] ?? '').length;
  return Math.max(0, frac - Number(exp));
}

/** Largest multiple of step that is <= x (tolerating float noise in x / step). */
export function floorToStep(x: number, step: number): number {
  if (!(x > 0)) return 0;
  let n = Math.floor(x / step + 1e-9);
  let v = Number((n * step).toFixed(decimals(step)));
  while (v > x * (1 + 1e-12) && n > 0) {
    n -= 1;
    v = Number((n * step).toFixed(decimals(step)));
  }
  return v;
}

/** Smallest multiple of step that is >= x. */
export function ceilToStep(x: number, step: number): number {
  if (!(x > 0)) return 0;
  let n = Math.ceil(x / step - 1e-9);
  let v = Number((n * step).toFixed(decimals(step)));
  while (v < x) {
    n += 1;
    v = Number((n * step).toFixed(decimals(step)));
  }
  return v;
}

export function roundToStep(x: number, step: number): number {
  return Number((Math.round(x / step) * step).toFixed(decimals(step)));
}

export type SizeResult =
  | { ok: true; amount: number; quote: number; raised: boolean }
  | { ok: false; reason: ReasonCode; detail: string };

export interface SizeInput {
  signal: Signal;
  market: MarketInfo;
  /** Price the order is valued at (limit price, or reference price for market orders). */
  price: number;
  equity: number;
  /** The most this order may be worth (every cap and the free balance already folded in). */
  capQuote: number;
}

/** Quote value the sizing mode asks for, before caps and rounding. */
export function targetQuote(s: Config['sizing'], signal: Signal, price: number, equity: number): number {
  let q: number;
  if (s.mode === 'fixed_quote') q = s.fixed_quote;
  else if (s.mode === 'equity_pct') q = (equity * s.equity_pct) / 100;
  else {
    // A signal stop on the wrong side of the price is unusable: fall back to the configured distance.
    const stop =
      signal.stop_loss !== undefined && signal.stop_loss < price
        ? signal.stop_loss
        : price * (1 - s.default_stop_pct / 100);
    const dist = (price - stop) / price;
    q = (equity * s.risk_pct) / 100 / dist;
  }
  if (s.confidence_scaling) q *= signal.confidence;
  return Math.max(0, q);
}

export function sizeEntry(s: Config['sizing'], input: SizeInput): SizeResult {
  const { market, price } = input;
  const cap = Math.min(input.capQuote, s.max_quote_per_trade);
  if (!(cap > 0))
    return { ok: false, reason: 'skipped:no_capacity', detail: 'no room left under the caps or balance' };
  const want = Math.min(targetQuote(s, input.signal, price, input.equity), cap);
  let amount = floorToStep(want / price, market.amountStep);
  if (market.maxAmount !== undefined && amount > market.maxAmount)
    amount = floorToStep(market.maxAmount, market.amountStep);
  const meetsMin = (a: number) => a > 0 && a >= market.minAmount && a * price >= market.minCost;
  if (meetsMin(amount)) return { ok: true, amount, quote: amount * price, raised: false };

  const needed = ceilToStep(
    Math.max(market.minAmount, market.minCost / price, market.amountStep),
    market.amountStep,
  );
  const neededQuote = needed * price;
  if (
    s.below_minimum === 'raise' &&
    neededQuote <= s.raise_cap_quote &&
    neededQuote <= cap &&
    meetsMin(needed)
  ) {
    return { ok: true, amount: needed, quote: neededQuote, raised: true };
  }
  return {
    ok: false,
    reason: 'skipped:below_minimum',
    detail: `size ${(amount * price).toFixed(8)} < exchange minimum ${neededQuote.toFixed(8)} (below_minimum=${s.below_minimum}, cap ${Math.min(cap, s.raise_cap_quote)})`,
  };
}
