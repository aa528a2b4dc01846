/**
 * Fill and P&L arithmetic, pure: the journal stores what these functions compute. Exchanges report fills as
 * CUMULATIVE totals, possibly repeated or stale (reconcile after a timeout, restart), so a report is first merged
 * into what was already recorded (monotone), and only the difference moves the position. Kept out of SQL so it
 * can be property-tested without a database.
 */

export const EPS = 1e-12;

/** What has been recorded for one order so far (cumulative). */
export interface FillTotals {
  filled: number;
  avgPrice: number | null;
  feeQuote: number;
  feeBase: number;
}

/** A cumulative report from the exchange; absent fields mean "no news". */
export interface FillReport {
  filled?: number | undefined;
  avgPrice?: number | undefined;
  feeQuote?: number | undefined;
  feeBase?: number | undefined;
}

/** The change a report brings: amount and value (quote) newly filled, fees newly charged. */
export interface FillDelta {
  amount: number;
  value: number;
  feeQuote: number;
  feeBase: number;
}

/**
 * Merge a cumulative report into the recorded totals. Totals never go backwards (a stale report is ignored), so
 * the same report applied twice changes nothing the second time. `delta` is undefined when nothing changed.
 */
export function mergeFill(
  prev: FillTotals,
  r: FillReport,
): { next: FillTotals; delta: FillDelta | undefined } {
  const filled = Math.max(prev.filled, r.filled ?? prev.filled);
  const avgPrice = r.avgPrice ?? prev.avgPrice;
  const feeQuote = Math.max(prev.feeQuote, r.feeQuote ?? prev.feeQuote);
  const feeBase = Math.max(prev.feeBase, r.feeBase ?? prev.feeBase);
  const next = { filled, avgPrice, feeQuote, feeBase };
  const amount = filled - prev.filled;
  const dFeeQuote = feeQuote - prev.feeQuote;
  const dFeeBase = feeBase - prev.feeBase;
  if (!(amount > EPS || dFeeQuote > EPS || dFeeBase > EPS)) return { next, delta: undefined };
  // Value from cumulative averages: a later average that covers earlier fills corrects their value too.
  const value = filled * (avgPrice ?? 0) - prev.filled * (prev.avgPrice ?? 0);
  return { next, delta: { amount, value, feeQuote: dFeeQuote, feeBase: dFeeBase } };
}

/** A position held by this client: base amount and its cost basis (quote, fees included). */
export interface Holding {
  amount: number;
  cost: number;
}

/**
 * Apply a fill delta to a holding. A buy adds amount (minus fees taken in base) and cost (plus quote fees). A sell
 * removes amount, releases the proportional cost basis and realizes proceeds - fees - basis; it never drives the
 * amount below zero (a sell of more than held is an exchange-side matter, not a negative position here).
 */
export function applyFill(
  h: Holding,
  side: 'buy' | 'sell',
  d: FillDelta,
): { next: Holding; realized: number | undefined } {
  if (side === 'buy') {
    return {
      next: { amount: h.amount + d.amount - d.feeBase, cost: h.cost + d.value + d.feeQuote },
      realized: undefined,
    };
  }
  const basis = h.amount > EPS ? h.cost * Math.min(1, d.amount / h.amount) : 0;
  const realized = d.value - d.feeQuote - basis;
  const amount = Math.max(0, h.amount - d.amount);
  return { next: { amount, cost: amount > EPS ? h.cost - basis : 0 }, realized };
}
