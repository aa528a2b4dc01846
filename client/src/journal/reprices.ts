import { prepareAll, type Db } from './db.js';

/**
 * Working-order replaces (table reprices): write-ahead like intents. A step is `requested` before the broker is
 * asked and `done` once it answered; the newest done step's order is the one the intent follows at the broker.
 */

export interface RepriceRow {
  client_order_id: string;
  step: number;
  /** The replacement's own client order id (deterministic: `<intent id>-r<step>`). */
  order_id: string;
  price: number;
  state: 'requested' | 'done' | 'refused';
  exchange_order_id: string | null;
  at: number;
}

const SQL = {
  list: 'SELECT * FROM reprices WHERE client_order_id = ? ORDER BY step',
  insert: `INSERT OR IGNORE INTO reprices (client_order_id, step, order_id, price, state, at)
    VALUES (?, ?, ?, ?, 'requested', ?)`,
  settle:
    'UPDATE reprices SET state = ?, exchange_order_id = COALESCE(?, exchange_order_id) WHERE order_id = ?',
  current: `SELECT order_id FROM reprices WHERE client_order_id = ? AND state = 'done' ORDER BY step DESC LIMIT 1`,
  unsettled: `SELECT order_id FROM reprices WHERE client_order_id = ? AND state = 'requested' ORDER BY step DESC`,
} as const;

export class RepriceStore {
  private readonly st;
  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }
  list(clientOrderId: string): RepriceRow[] {
    return this.st.list.all(clientOrderId) as RepriceRow[];
  }
  /** Journal a step before it is requested; a second call for the same step is a no-op. */
  request(clientOrderId: string, step: number, orderId: string, price: number, at: number): void {
    this.st.insert.run(clientOrderId, step, orderId, price, at);
  }
  settle(orderId: string, state: 'done' | 'refused', exchangeOrderId?: string | undefined): void {
    this.st.settle.run(state, exchangeOrderId ?? null, orderId);
  }
  /**
   * The ids the intent's order may have at the broker, newest first: a step requested but not settled (a kill
   * between the replace request and its journal write), then the last done replace, then the intent's own.
   */
  candidates(clientOrderId: string): string[] {
    const pending = (this.st.unsettled.all(clientOrderId) as { order_id: string }[]).map((r) => r.order_id);
    return [...pending, this.current(clientOrderId) ?? clientOrderId];
  }

  /** The client order id the intent's order has at the broker now (its last done replace), if replaced. */
  current(clientOrderId: string): string | undefined {
    return (this.st.current.get(clientOrderId) as { order_id: string } | undefined)?.order_id;
  }
}
