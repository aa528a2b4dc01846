import { prepareAll, type Db } from './db.js';

/**
 * Position incidents (docs/client-venues.md, reconciliation): what the broker holds differs from what this client's
 * journal says and the journal cannot explain why (a sale in the broker's app, a corporate action). One open
 * incident per symbol at a time; entries and exits in it are skipped (skipped:incident) until `incidents --ack`.
 */

export interface IncidentRow {
  id: number;
  symbol: string;
  kind: string;
  detail: string;
  journal_qty: number;
  broker_qty: number;
  created_at: number;
  acked_at: number | null;
}

export interface NewIncident {
  symbol: string;
  kind: string;
  detail: string;
  journalQty: number;
  brokerQty: number;
}

const OUTSIDE_KEY = 'outside_ack:';

const SQL = {
  openFor: 'SELECT * FROM incidents WHERE symbol = ? AND acked_at IS NULL ORDER BY id LIMIT 1',
  insert: `INSERT INTO incidents (symbol, kind, detail, journal_qty, broker_qty, created_at)
    VALUES (@symbol, @kind, @detail, @journalQty, @brokerQty, @at)`,
  open: 'SELECT * FROM incidents WHERE acked_at IS NULL ORDER BY id',
  recent: 'SELECT * FROM incidents ORDER BY id DESC LIMIT ?',
  ack: 'UPDATE incidents SET acked_at = ? WHERE id = ? AND acked_at IS NULL',
  get: 'SELECT * FROM incidents WHERE id = ?',
  position: 'SELECT amount, cost FROM positions WHERE market = ?',
  setPosition: 'UPDATE positions SET amount = @amount, cost = @cost, updated_at = @at WHERE market = @market',
  setMeta:
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  getMeta: 'SELECT value FROM meta WHERE key = ?',
  // When the journal's position last moved (a fill fact derived into it, an ack), not when an order row was last
  // written: run's timer reads every open order back just before it compares, and that touch moves nothing.
  lastChange: 'SELECT market, updated_at AS at FROM positions',
};

export class IncidentStore {
  private readonly st;
  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }
  /** Records one unless the symbol already has an open incident (a difference seen again is the same one). */
  record(i: NewIncident, at: number): { row: IncidentRow; created: boolean } {
    const open = this.st.openFor.get(i.symbol) as IncidentRow | undefined;
    if (open) return { row: open, created: false };
    const id = Number(this.st.insert.run({ ...i, at }).lastInsertRowid);
    return { row: this.st.get.get(id) as IncidentRow, created: true };
  }
  openFor(symbol: string): IncidentRow | undefined {
    return this.st.openFor.get(symbol) as IncidentRow | undefined;
  }
  open(): IncidentRow[] {
    return this.st.open.all() as IncidentRow[];
  }
  recent(limit: number): IncidentRow[] {
    return this.st.recent.all(limit) as IncidentRow[];
  }
  /** Per market, when this client's journal position in it last changed. */
  lastChange(): Map<string, number> {
    return new Map(
      (this.st.lastChange.all() as { market: string; at: number }[]).map((r) => [r.market, r.at]),
    );
  }
  /**
   * The friend has looked: the broker's count becomes the journal's. Fewer shares at the broker: this client's
   * position is set to the broker's (its cost scaled, nothing realized: the sale was not this client's). More:
   * the extra shares count as held outside this client from now on. undefined: no such incident.
   */
  ack(id: number, at: number): { row: IncidentRow; acked: boolean } | undefined {
    const row = this.st.get.get(id) as IncidentRow | undefined;
    if (!row) return undefined;
    if (row.acked_at !== null) return { row, acked: false };
    this.st.ack.run(at, id);
    if (row.kind === 'broker_has_less') {
      const p = this.st.position.get(row.symbol) as { amount: number; cost: number } | undefined;
      if (p && p.amount > 0) {
        const amount = Math.min(p.amount, row.broker_qty);
        this.st.setPosition.run({ market: row.symbol, amount, cost: (p.cost * amount) / p.amount, at });
      }
    } else {
      this.st.setMeta.run(OUTSIDE_KEY + row.symbol, String(Math.max(0, row.broker_qty - row.journal_qty)));
    }
    return { row: this.st.get.get(id) as IncidentRow, acked: true };
  }

  /** Shares in `symbol` acknowledged as held outside this client (an acked broker_has_more). */
  outsideAcked(symbol: string): number | undefined {
    const v = (this.st.getMeta.get(OUTSIDE_KEY + symbol) as { value: string } | undefined)?.value;
    return v === undefined ? undefined : Number(v);
  }
}
