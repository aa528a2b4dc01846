import { prepareAll, type Db } from './db.js';

/**
 * Positions taken over from the broker at start (equities.outside_positions: adopt): shares the broker held that the
 * journal could not explain. The journal also adds a fill fact per adoption (order key `adopt:<id>`), so positions
 * derived from fills hold them and a restart finds nothing left to adopt.
 */

export interface AdoptionRow {
  id: number;
  symbol: string;
  qty: number;
  avg_price: number;
  at: number;
}

const SQL = {
  insert: 'INSERT INTO adoptions (symbol, qty, avg_price, at) VALUES (?, ?, ?, ?)',
  all: 'SELECT * FROM adoptions ORDER BY id',
} as const;

export class AdoptionStore {
  private readonly st;
  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }
  /** Caller holds the transaction (and adds the fill fact). */
  insert(a: { symbol: string; qty: number; avgPrice: number }, at: number): AdoptionRow {
    const id = Number(this.st.insert.run(a.symbol, a.qty, a.avgPrice, at).lastInsertRowid);
    return { id, symbol: a.symbol, qty: a.qty, avg_price: a.avgPrice, at };
  }
  all(): AdoptionRow[] {
    return this.st.all.all() as AdoptionRow[];
  }
}
