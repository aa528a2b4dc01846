import type { Position } from './types.js';

/**
 * Position reconciliation (issue 21), pure: this client's journal positions against the broker's, given what the
 * journal can explain. Held outside the client at start (`outsideAtStart`) is the friend's own business; a
 * symbol with one of this client's orders still in flight (`busy`) is compared again later, once its fill is
 * read back; a broker position smaller than the journal's where this client had a protective leg resting (a
 * bracket or OCO leg that may have filled at the broker) is explained by that leg. Anything else is an incident.
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

export interface ReconcileInput {
  journal: readonly Position[];
  broker: readonly BrokerHolding[];
  /** Shares held outside this client when it started (broker minus journal, where positive). */
  outsideAtStart: ReadonlyMap<string, number>;
  /** Symbols with an order of this client not final yet. */
  busy: ReadonlySet<string>;
  /** Symbols where this client has (had) a protective leg at the broker that can sell without the journal knowing. */
  legs: ReadonlySet<string>;
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

export function positionIncidents(input: ReconcileInput): PositionIncident[] {
  const mine = new Map(input.journal.map((p) => [p.market, p.amount]));
  const theirs = new Map(input.broker.map((b) => [b.symbol, b.qty]));
  const out: PositionIncident[] = [];
  for (const symbol of new Set([...mine.keys(), ...theirs.keys()])) {
    if (input.busy.has(symbol)) continue;
    const j = mine.get(symbol) ?? 0;
    const b = theirs.get(symbol) ?? 0;
    const outside = input.outsideAtStart.get(symbol) ?? 0;
    const expected = j + outside;
    if (Math.abs(b - expected) <= EPS) continue;
    if (b < expected) {
      // Outside shares are sold first: the friend's own sale of what they held before is not ours to flag.
      if (b >= j - EPS) continue;
      if (input.legs.has(symbol)) continue;
      out.push({
        symbol,
        kind: 'broker_has_less',
        journalQty: j,
        brokerQty: b,
        detail: `the broker holds ${b} ${symbol}, this client's journal ${j}${outside > 0 ? ` (+${outside} held outside at start)` : ''}: sold or changed outside this client`,
      });
    } else if (j > EPS) {
      // More than expected in a symbol this client holds: a corporate action, or shares bought outside mixed
      // into ours; either way the journal's count is no longer the broker's. In a symbol this client does not
      // hold, extra shares are simply held outside (equities.outside_positions).
      out.push({
        symbol,
        kind: 'broker_has_more',
        journalQty: j,
        brokerQty: b,
        detail: `the broker holds ${b} ${symbol}, this client's journal ${j}${outside > 0 ? ` (+${outside} held outside at start)` : ''}: a split or shares added outside this client`,
      });
    }
  }
  return out.sort((a, b) => a.symbol.localeCompare(b.symbol));
}
