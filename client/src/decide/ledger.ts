import { EPS, type Holding } from '../ledger-math.js';

/**
 * Positions, average entry, realised P&L and fees derived from fills only - never from what was asked. Pure: the
 * journal hands in every fill fact it holds, from whichever source (the broker's event stream, a REST read-back,
 * the executor's order replies); the same facts in any order, any number of times, give the same ledger.
 *
 * A fill fact is one point of an order's cumulative fill: (order, cumulative quantity) is its identity, so an
 * execution reported by the stream and again by a REST read-back is one fact, and a REST reply that reports only the
 * total after two executions adds one point beside the two the stream gave (the steps between points are what moves
 * the position).
 */

export interface FillFact {
  /** The order's id (client_order_id: ours, or the broker-made id of a bracket/OCO leg). */
  order: string;
  market: string;
  side: 'buy' | 'sell';
  /** Cumulative filled quantity of the order at this point. */
  cum: number;
  /** Cumulative average price at this point, when the reporter knew it. */
  avg?: number | undefined;
  /** Price of the execution that reached this point, when the reporter knew it (an activity, a stream fill). */
  price?: number | undefined;
  /** Cumulative fees of the order at this point (quote; base where the venue takes fees in the asset). */
  feeQuote?: number | undefined;
  feeBase?: number | undefined;
  /** When it happened (broker time where known), ms. */
  at: number;
}

export interface LedgerPosition extends Holding {
  market: string;
  /** Average entry price (cost / amount, fees included). */
  avgEntry: number;
}

export interface Realization {
  market: string;
  at: number;
  amount: number;
}

export interface Ledger {
  positions: LedgerPosition[];
  realized: number;
  realizations: Realization[];
  feesQuote: number;
  /** Orders and how much of each filled (the last point). */
  filled: Map<string, number>;
}

const r9 = (x: number) => Math.round(x * 1e9) / 1e9;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const defined = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** Duplicates of one point merge field by field (max of what each knew: the same in practice), time = earliest. */
function mergePoint(a: FillFact, b: FillFact): FillFact {
  return {
    ...a,
    avg: defined(a.avg, b.avg),
    price: defined(a.price, b.price),
    feeQuote: defined(a.feeQuote, b.feeQuote),
    feeBase: defined(a.feeBase, b.feeBase),
    at: Math.min(a.at, b.at),
  };
}

/** One execution: what an order's fill newly added between two points (quantity, value, fees newly charged). */
export interface FillStep {
  order: string;
  market: string;
  side: 'buy' | 'sell';
  cum: number;
  amount: number;
  value: number;
  feeQuote: number;
  feeBase: number;
  at: number;
}

/**
 * One order's points -> the steps between them (quantity, value, fees newly charged): the positions here and the
 * per-execution export (`catalyst-client export fills`) read the same steps.
 */
export function fillSteps(points: FillFact[]): FillStep[] {
  points.sort((a, b) => a.cum - b.cum);
  const out: FillStep[] = [];
  let prev = { cum: 0, avg: 0 as number | undefined, feeQuote: 0, feeBase: 0 };
  for (const p of points) {
    const amount = r9(p.cum - prev.cum);
    if (!(amount > EPS)) continue;
    let value: number;
    if (p.avg !== undefined && prev.avg !== undefined) value = p.cum * p.avg - prev.cum * prev.avg;
    else if (p.price !== undefined) value = amount * p.price;
    else value = amount * (p.avg ?? prev.avg ?? 0);
    const feeQuote = Math.max(prev.feeQuote, p.feeQuote ?? prev.feeQuote);
    const feeBase = Math.max(prev.feeBase, p.feeBase ?? prev.feeBase);
    out.push({
      order: p.order,
      market: p.market,
      side: p.side,
      cum: p.cum,
      amount,
      value,
      feeQuote: feeQuote - prev.feeQuote,
      feeBase: feeBase - prev.feeBase,
      at: p.at,
    });
    // Without a known average here, the next step's value comes from its own price (or this one's average).
    prev = { cum: p.cum, avg: p.avg, feeQuote, feeBase };
  }
  return out;
}

/**
 * Average cost on a SIGNED holding: a sell that finds less held than it sells (its buy was reported with a later
 * time by another clock, or not yet) runs the amount below zero instead of clamping it, so the amount at the end is
 * the signed sum of every step whatever their order, and a full round trip realises proceeds - fees - cost either
 * way. `cost` is what was paid for a long holding, minus what was received for a short one.
 */
function step(h: Holding, s: FillStep): { next: Holding; realized: number | undefined } {
  const dq = s.side === 'buy' ? s.amount - s.feeBase : -s.amount;
  // Into the basis when the step opens: paid (buy) or minus received (sell).
  const c = s.side === 'buy' ? s.value + s.feeQuote : -(s.value - s.feeQuote);
  if (Math.abs(h.amount) <= EPS || Math.sign(dq) === Math.sign(h.amount) || Math.abs(dq) <= EPS)
    return { next: { amount: h.amount + dq, cost: h.cost + c }, realized: undefined };
  const closing = Math.min(Math.abs(dq), Math.abs(h.amount));
  const f = closing / Math.abs(dq);
  const basis = (h.cost * closing) / Math.abs(h.amount);
  const realized = -c * f - basis;
  let amount = h.amount + Math.sign(dq) * closing;
  let cost = Math.abs(amount) <= EPS ? 0 : h.cost - basis;
  if (Math.abs(amount) <= EPS) amount = 0;
  amount += dq * (1 - f);
  cost += c * (1 - f);
  return { next: { amount, cost }, realized };
}

export function deriveLedger(facts: readonly FillFact[]): Ledger {
  const byPoint = new Map<string, FillFact>();
  for (const f of facts) {
    if (!(f.cum > EPS)) continue;
    const key = `${f.order}\u0000${r9(f.cum)}`;
    const had = byPoint.get(key);
    byPoint.set(key, had ? mergePoint(had, f) : { ...f, cum: r9(f.cum) });
  }
  const byOrder = new Map<string, FillFact[]>();
  for (const p of byPoint.values()) byOrder.set(p.order, [...(byOrder.get(p.order) ?? []), p]);
  const all: FillStep[] = [];
  const filled = new Map<string, number>();
  for (const [order, points] of byOrder) {
    const s = fillSteps(points);
    all.push(...s);
    filled.set(order, s.at(-1)?.cum ?? 0);
  }
  // A canonical order: time, then order id, then cumulative quantity (a step never precedes its own earlier step).
  all.sort((a, b) => a.at - b.at || cmp(a.order, b.order) || a.cum - b.cum);
  const held = new Map<string, Holding>();
  const realizations: Realization[] = [];
  let feesQuote = 0;
  for (const s of all) {
    const { next, realized } = step(held.get(s.market) ?? { amount: 0, cost: 0 }, s);
    held.set(s.market, next);
    feesQuote += s.feeQuote;
    if (realized !== undefined) realizations.push({ market: s.market, at: s.at, amount: realized });
  }
  const positions = [...held.entries()]
    .filter(([, h]) => Math.abs(h.amount) > EPS)
    .map(([market, h]) => ({ market, amount: h.amount, cost: h.cost, avgEntry: h.cost / h.amount }))
    .sort((a, b) => cmp(a.market, b.market));
  return {
    positions,
    realized: realizations.reduce((s, r) => s + r.amount, 0),
    realizations,
    feesQuote,
    filled,
  };
}
