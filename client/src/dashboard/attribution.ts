import type { FillRow } from '../journal/index.js';
import { EPS } from '../ledger-math.js';
import type { PnlBucket } from './api.js';

/**
 * Which kinds of signals made or lost money, pure: the journal's real fills (paper or live) replayed with the
 * journal's own average-cost rule (ledger-math.ts applyFill), each position split into lots by the signal that
 * bought them (catalyst kind; action). A sell releases every lot of its market in proportion to its size, so
 * per-bucket realized P&L sums exactly to the journal's realized P&L. A position opened by one signal and sold
 * by an exit signal counts for the signal that opened it.
 */

interface Lot {
  amount: number;
  cost: number;
  /** The bucket key of each dimension for the signal that bought this lot. */
  tags: Record<string, string>;
}

/** "enter long", "exit", "avoid"... (a v1 signal has no action: long/short means enter). */
export function actionKey(action: string | null, direction: string | null): string {
  const a = action ?? (direction === 'long' || direction === 'short' ? 'enter' : 'info');
  return a === 'enter' && direction ? `enter ${direction}` : a;
}

export interface Attribution {
  byCatalyst: PnlBucket[];
  byAction: PnlBucket[];
  /** Sum of realized P&L over all fills (equals the journal's pnl table when fills are complete). */
  realized: number;
}

/** How a fill's signal is bucketed along one dimension (catalyst kind, action, session...). */
export type Dimension<F extends FillRow> = (f: F) => string;

/**
 * P&L split along several dimensions at once, each summing to the same realized total: one lot per distinct
 * combination of bucket keys, so a sell releases each combination's share once and every dimension sees it.
 */
export function attributeBy<F extends FillRow, D extends string>(
  fills: readonly F[],
  lastPrice: (market: string) => number | undefined,
  dims: Record<D, Dimension<F>>,
): { buckets: Record<D, PnlBucket[]>; realized: number } {
  const names = Object.keys(dims) as D[];
  // market -> tag combination -> lot
  const books = new Map<string, Map<string, Lot>>();
  const out = new Map<D, Map<string, PnlBucket>>(names.map((d) => [d, new Map()]));
  const bucket = (d: D, key: string) => {
    const m = out.get(d)!;
    let b = m.get(key);
    if (!b) m.set(key, (b = { key, realized: 0, unrealized: 0, entries: 0 }));
    return b;
  };
  const credit = (tags: Record<string, string>, field: 'realized' | 'unrealized', v: number) => {
    for (const d of names) bucket(d, tags[d]!)[field] += v;
  };
  let realized = 0;
  for (const f of fills) {
    const tags: Record<string, string> = {};
    for (const d of names) tags[d] = dims[d](f);
    let book = books.get(f.market);
    if (!book) books.set(f.market, (book = new Map()));
    const value = f.filled * (f.avg_price ?? 0);
    if (f.side === 'buy') {
      const k = names.map((d) => tags[d]).join('\u0000');
      const lot = book.get(k) ?? { amount: 0, cost: 0, tags };
      lot.amount += f.filled - f.fee_base;
      lot.cost += value + f.fee_quote;
      book.set(k, lot);
      for (const d of names) bucket(d, tags[d]!).entries++;
      continue;
    }
    const held = [...book.values()].reduce((n, l) => n + l.amount, 0);
    const proceeds = value - f.fee_quote;
    if (held <= EPS) {
      // Selling what no journaled buy explains (held before this client): the journal counts it all as realized.
      realized += proceeds;
      credit(tags, 'realized', proceeds);
      continue;
    }
    const frac = Math.min(1, f.filled / held);
    for (const lot of book.values()) {
      const share = lot.amount / held;
      const r = proceeds * share - lot.cost * frac;
      realized += r;
      credit(lot.tags, 'realized', r);
      lot.amount -= lot.amount * frac;
      lot.cost -= lot.cost * frac;
    }
  }
  for (const [market, book] of books) {
    const price = lastPrice(market);
    if (price === undefined) continue;
    for (const lot of book.values()) {
      if (lot.amount <= EPS) continue;
      credit(lot.tags, 'unrealized', lot.amount * price - lot.cost);
    }
  }
  const sorted = (m: Map<string, PnlBucket>) =>
    [...m.values()].sort((a, b) => b.realized + b.unrealized - (a.realized + a.unrealized));
  const buckets = {} as Record<D, PnlBucket[]>;
  for (const d of names) buckets[d] = sorted(out.get(d)!);
  return { buckets, realized };
}

export const catalystOf = (f: FillRow): string => f.catalyst ?? 'unknown';
export const actionOf = (f: FillRow): string => actionKey(f.action, f.direction);

export function attributePnl(
  fills: readonly FillRow[],
  lastPrice: (market: string) => number | undefined,
): Attribution {
  const a = attributeBy(fills, lastPrice, { catalyst: catalystOf, action: actionOf });
  return { byCatalyst: a.buckets.catalyst, byAction: a.buckets.action, realized: a.realized };
}

/**
 * Equity over time: the starting balance plus realized P&L as it accrued, and a last point at `now` with the
 * open positions marked at their last recorded price. At most `maxPoints` (evenly thinned, last kept).
 */
export function equityCurve(
  start: number,
  realized: readonly { at: number; realized: number }[],
  unrealizedNow: number,
  now: number,
  firstFillAt: number | undefined,
  maxPoints = 500,
): { at: number; equity: number }[] {
  const pts: { at: number; equity: number }[] = [];
  let eq = start;
  const first = Math.min(firstFillAt ?? Infinity, realized[0]?.at ?? Infinity);
  if (Number.isFinite(first)) pts.push({ at: first, equity: start });
  for (const r of realized) {
    eq += r.realized;
    pts.push({ at: r.at, equity: eq });
  }
  pts.push({ at: Math.max(now, pts.at(-1)?.at ?? now), equity: eq + unrealizedNow });
  if (pts.length <= maxPoints) return pts;
  const step = pts.length / maxPoints;
  const out: { at: number; equity: number }[] = [];
  for (let i = 0; i < maxPoints - 1; i++) out.push(pts[Math.floor(i * step)]!);
  out.push(pts.at(-1)!);
  return out;
}
