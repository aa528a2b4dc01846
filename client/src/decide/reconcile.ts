import type { Position } from './types.js';

/**
 * Position reconciliation (issue 21), pure: this client's journal positions against the broker's. A difference is
 * an incident only when it cannot be explained and it survives a catch-up of the broker's order events:
 *  - held outside the client at start (`outsideAtStart`) is the friend's own business;
 *  - an order of this client still in flight (`inFlight`) explains a difference up to its unfilled quantity, in
 *    its direction only: a resting sell can lower the broker's count by at most what it has left, a resting buy
 *    raise it by at most what it has left; anything outside that band is not explained by it;
 *  - a difference outside the band is first only `seen`; it becomes an incident when the next comparison finds the
 *    same difference after a catch-up of the broker's events ran in between (the caller runs it and marks the
 *    sighting `caughtUp`): a leg fill still in transit is journaled by then and the difference is gone.
 * The sightings are input and output (the caller keeps them between comparisons): nothing here remembers.
 */

export interface BrokerHolding {
  symbol: string;
  qty: number;
}

export interface PositionIncident {
  symbol: string;
  kind: 'broker_has_less' | 'broker_has_more';
  journalQty: number;
  brokerQty: number;
  detail: string;
}

/** Unfilled quantities of this client's orders not final yet, per symbol. */
export interface InFlight {
  buy: number;
  sell: number;
}

/** A difference seen once; `caughtUp` once a catch-up of the broker's order events has run since. */
export interface SeenDifference {
  incident: PositionIncident;
  caughtUp: boolean;
}

export interface ReconcileInput {
  journal: readonly Position[];
  broker: readonly BrokerHolding[];
  /** Shares held outside this client when it started (broker minus journal, where positive). */
  outsideAtStart: ReadonlyMap<string, number>;
  /** Symbols not compared this time (the journal changed after the broker's positions were read). */
  busy: ReadonlySet<string>;
  /** Per symbol, what this client's orders not final yet can still move (unfilled buy and sell quantities). */
  inFlight: ReadonlyMap<string, InFlight>;
  /** Differences seen by the previous comparison (the previous call's `seen`). */
  seen: ReadonlyMap<string, SeenDifference>;
}

export interface ReconcileResult {
  /** Differences confirmed now: seen before, a catch-up since, still the same. */
  incidents: PositionIncident[];
  /** Differences to look at again (after a catch-up): the next call's `seen`. */
  seen: Map<string, SeenDifference>;
}

/** Shares are whole or 1e-9 fractions: anything smaller is float noise. */
const EPS = 1e-6;

/** Broker minus journal per symbol where positive: what start-up reconciliation treats as held outside. */
export function outsideHoldings(
  journal: readonly Position[],
  broker: readonly BrokerHolding[],
): Map<string, number> {
  const mine = new Map(journal.map((p) => [p.market, p.amount]));
  const out = new Map<string, number>();
  for (const b of broker) {
    const extra = b.qty - (mine.get(b.symbol) ?? 0);
    if (extra > EPS) out.set(b.symbol, extra);
  }
  return out;
}

/** Every difference the journal, the outside shares and the orders in flight cannot explain, right now. */
export function positionDifferences(input: Omit<ReconcileInput, 'seen'>): PositionIncident[] {
  const mine = new Map(input.journal.map((p) => [p.market, p.amount]));
  const theirs = new Map(input.broker.map((b) => [b.symbol, b.qty]));
  const out: PositionIncident[] = [];
  for (const symbol of new Set([...mine.keys(), ...theirs.keys()])) {
    if (input.busy.has(symbol)) continue;
    const j = mine.get(symbol) ?? 0;
    const b = theirs.get(symbol) ?? 0;
    const outside = input.outsideAtStart.get(symbol) ?? 0;
    const flight = input.inFlight.get(symbol) ?? { buy: 0, sell: 0 };
    const held = `the broker holds ${b} ${symbol}, this client's journal ${j}${outside > 0 ? ` (+${outside} held outside at start)` : ''}`;
    const moving =
      flight.buy + flight.sell > EPS
        ? ` beyond what its open orders can move (buy ${flight.buy}, sell ${flight.sell})`
        : '';
    // Outside shares are sold first: the friend's own sale of what they held before is not ours to flag; our own
    // resting sells can have sold up to what they have left.
    if (b < j - flight.sell - EPS) {
      out.push({
        symbol,
        kind: 'broker_has_less',
        journalQty: j,
        brokerQty: b,
        detail: `${held}${moving}: sold or changed outside this client`,
      });
    } else if (b > j + outside + flight.buy + EPS && j > EPS) {
      // More than expected in a symbol this client holds: a corporate action, or shares bought outside mixed
      // into ours; either way the journal's count is no longer the broker's. In a symbol this client does not
      // hold, extra shares are simply held outside (equities.outside_positions).
      out.push({
        symbol,
        kind: 'broker_has_more',
        journalQty: j,
        brokerQty: b,
        detail: `${held}${moving}: a split or shares added outside this client`,
      });
    }
  }
  return out.sort((a, b) => a.symbol.localeCompare(b.symbol));
}

/**
 * One comparison: the differences of now against the ones seen before. The same difference seen again after a
 * catch-up is an incident; a new or changed one is (re)seen and waits for a catch-up; one that is gone is forgotten.
 * A symbol not compared now (busy) keeps its sighting.
 */
export function positionIncidents(input: ReconcileInput): ReconcileResult {
  const incidents: PositionIncident[] = [];
  const seen = new Map<string, SeenDifference>();
  for (const s of input.busy) {
    const before = input.seen.get(s);
    if (before) seen.set(s, before);
  }
  for (const d of positionDifferences(input)) {
    const before = input.seen.get(d.symbol);
    const same =
      before !== undefined &&
      before.incident.kind === d.kind &&
      Math.abs(before.incident.journalQty - d.journalQty) <= EPS &&
      Math.abs(before.incident.brokerQty - d.brokerQty) <= EPS;
    if (same && before.caughtUp) incidents.push(d);
    else seen.set(d.symbol, { incident: d, caughtUp: same ? before.caughtUp : false });
  }
  return { incidents, seen };
}

/** The unfilled quantities of orders not final yet, per symbol (what `inFlight` expects). */
export function inFlightOf(
  orders: readonly { market: string; side: string; amount: number; filled: number }[],
): Map<string, InFlight> {
  const out = new Map<string, InFlight>();
  for (const o of orders) {
    const f = out.get(o.market) ?? { buy: 0, sell: 0 };
    const left = Math.max(0, o.amount - o.filled);
    if (o.side === 'buy') f.buy += left;
    else f.sell += left;
    out.set(o.market, f);
  }
  return out;
}
