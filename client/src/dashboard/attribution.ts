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
}
interface Tagged {
  catalyst: string;
  action: string;
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

export function attributePnl(
  fills: readonly FillRow[],
  lastPrice: (market: string) => number | undefined,
): Attribution {
  // market -> tag key -> lot
  const books = new Map<string, Map<string, Lot & Tagged>>();
  const cat = new Map<string, PnlBucket>();
  const act = new Map<string, PnlBucket>();
  const bucket = (m: Map<string, PnlBucket>, key: string) => {
    let b = m.get(key);
    if (!b) m.set(key, (b = { key, realized: 0, unrealized: 0, entries: 0 }));
    return b;
  };
  let realized = 0;
  for (const f of fills) {
    const tag: Tagged = {
      catalyst: f.catalyst ?? 'unknown',
      action: actionKey(f.action, f.direction),
    };
    let book = books.get(f.market);
    if (!book) books.set(f.market, (book = new Map()));
    const value = f.filled * (f.avg_price ?? 0);
    if (f.side === 'buy') {
      const k = `${tag.catalyst}\u0000${tag.action}`;
      const lot = book.get(k) ?? { amount: 0, cost: 0, ...tag };
      lot.amount += f.filled - f.fee_base;
      lot.cost += value + f.fee_quote;
      book.set(k, lot);
      bucket(cat, tag.catalyst).entries++;
      bucket(act, tag.action).entries++;
      continue;
    }
    const held = [...book.values()].reduce((n, l) => n + l.amount, 0);
    const proceeds = value - f.fee_quote;
    if (held <= EPS) {
      // Selling what no journaled buy explains (held before this client): the journal counts it all as realized.
      realized += proceeds;
      bucket(cat, tag.catalyst).realized += proceeds;
      bucket(act, tag.action).realized += proceeds;
      continue;
    }
    const frac = Math.min(1, f.filled / held);
    for (const lot of book.values()) {
      const share = lot.amount / held;
      const r = proceeds * share - lot.cost * frac;
      realized += r;
      bucket(cat, lot.catalyst).realized += r;
      bucket(act, lot.action).realized += r;
      lot.amount -= lot.amount * frac;
      lot.cost -= lot.cost * frac;
    }
  }
  for (const [market, book] of books) {
    const price = lastPrice(market);
    if (price === undefined) continue;
    for (const lot of book.values()) {
      if (lot.amount <= EPS) continue;
      const u = lot.amount * price - lot.cost;
      bucket(cat, lot.catalyst).unrealized += u;
      bucket(act, lot.action).unrealized += u;
    }
  }
  const sorted = (m: Map<string, PnlBucket>) =>
    [...m.values()].sort((a, b) => b.realized + b.unrealized - (a.realized + a.unrealized));
  return { byCatalyst: sorted(cat), byAction: sorted(act), realized };
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
