import type { FillRow } from '../journal/index.js';
import { EPS } from '../ledger-math.js';
import type { PnlBucket } from './api.js';
import { actionOf, attributeBy, catalystOf } from './attribution.js';

/**
 * The dashboard's performance view, pure arithmetic over the journal's fills (paper or live):
 *  - P&L by catalyst kind, action, session and confidence bucket: the lot split of attribution.ts, so every
 *    breakdown sums to the same realized total (fees included: a buy's quote fee is in its lot's cost, a sell's
 *    is taken from its proceeds, a fee paid in the asset shrinks the lot);
 *  - closed round trips per market (flat -> held -> flat again) and their win rate, average win and average
 *    loss, each trip's P&L = what its sells received - what its buys paid, both net of fees.
 */

export interface RoundTrip {
  market: string;
  opened_at: number;
  closed_at: number;
  /** Sell proceeds minus buy cost, quote fees on both sides included. */
  pnl: number;
}

export interface TradeStats {
  /** Closed round trips (a market bought from flat and sold back to flat). */
  closed: number;
  wins: number;
  losses: number;
  /** wins / closed; null before the first closed trip. A trip that made exactly 0 is neither. */
  win_rate: number | null;
  /** Mean P&L of the winning trips / of the losing trips (negative); null when there is none. */
  avg_win: number | null;
  avg_loss: number | null;
  /** Trips still open (held now): not counted above. */
  open: number;
}

/** "0.5–0.6" ... "0.9–1.0" (1.0 itself in the top bucket); "none" for a signal without a confidence. */
export function confidenceBucket(c: number | null): string {
  if (c === null || !Number.isFinite(c)) return 'none';
  const lo = Math.min(9, Math.max(0, Math.floor(Math.round(c * 1e9) / 1e8)));
  return `${(lo / 10).toFixed(1)}–${((lo + 1) / 10).toFixed(1)}`;
}

/** pre / regular / after / closed as the decision journaled it; "n/a" without one (crypto, older journals). */
export const sessionOf = (f: FillRow): string => f.session ?? 'n/a';

export function breakdowns(fills: readonly FillRow[], lastPrice: (market: string) => number | undefined) {
  return attributeBy(fills, lastPrice, {
    catalyst: catalystOf,
    action: actionOf,
    session: sessionOf,
    confidence: (f) => confidenceBucket(f.confidence),
  });
}

/** Closed round trips, oldest first. Fills are in journal order (each order's cumulative fill at its last update). */
export function roundTrips(fills: readonly FillRow[]): { closed: RoundTrip[]; open: number } {
  const books = new Map<string, { amount: number; paid: number; received: number; opened_at: number }>();
  const closed: RoundTrip[] = [];
  for (const f of fills) {
    if (f.avg_price === null || f.filled <= 0) continue;
    const value = f.filled * f.avg_price;
    let b = books.get(f.market);
    if (f.side === 'buy') {
      if (!b) books.set(f.market, (b = { amount: 0, paid: 0, received: 0, opened_at: f.updated_at }));
      b.amount += f.filled - f.fee_base;
      b.paid += value + f.fee_quote;
      continue;
    }
    // A sell of what no journaled buy explains (held before this client) is no round trip of ours.
    if (!b) continue;
    const sold = Math.min(f.filled, b.amount);
    // Selling more than the trip holds: only the trip's share of the proceeds and fee belongs to it.
    b.received += (value - f.fee_quote) * (sold / f.filled);
    b.amount -= sold;
    if (b.amount > EPS) continue;
    closed.push({
      market: f.market,
      opened_at: b.opened_at,
      closed_at: f.updated_at,
      pnl: b.received - b.paid,
    });
    books.delete(f.market);
  }
  return { closed, open: books.size };
}

export function tradeStats(trips: { closed: readonly RoundTrip[]; open: number }): TradeStats {
  const wins = trips.closed.filter((t) => t.pnl > EPS).map((t) => t.pnl);
  const losses = trips.closed.filter((t) => t.pnl < -EPS).map((t) => t.pnl);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const n = trips.closed.length;
  return {
    closed: n,
    wins: wins.length,
    losses: losses.length,
    win_rate: n ? wins.length / n : null,
    avg_win: mean(wins),
    avg_loss: mean(losses),
    open: trips.open,
  };
}

export interface Performance {
  by_catalyst: PnlBucket[];
  by_action: PnlBucket[];
  by_session: PnlBucket[];
  by_confidence: PnlBucket[];
  trades: TradeStats;
}

export function performance(
  fills: readonly FillRow[],
  lastPrice: (market: string) => number | undefined,
): Performance & { realized: number } {
  const { buckets, realized } = breakdowns(fills, lastPrice);
  return {
    by_catalyst: buckets.catalyst,
    by_action: buckets.action,
    by_session: buckets.session,
    by_confidence: buckets.confidence,
    trades: tradeStats(roundTrips(fills)),
    realized,
  };
}
