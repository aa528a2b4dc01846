import { prepareAll, type Db } from './db.js';
import type { MetaStore } from './cursor.js';

/**
 * The simulated exchange's storage, in the same journal as live orders so status/history read the same in
 * paper mode and a retry or restart can never fill a paper order twice.
 */

const SQL = {
  paperBalance: 'SELECT free FROM paper_balances WHERE asset = ?',
  paperBalances: 'SELECT asset, free FROM paper_balances ORDER BY asset',
  setPaperBalance: `INSERT INTO paper_balances (asset, free) VALUES (?, ?) ON CONFLICT(asset) DO UPDATE SET free = excluded.free`,
  getPaperOrder: 'SELECT body FROM paper_orders WHERE client_order_id = ?',
  putPaperOrder: 'INSERT INTO paper_orders (client_order_id, body) VALUES (?, ?)',
  setPaperOrder: 'UPDATE paper_orders SET body = ? WHERE client_order_id = ?',
  /** Orders still resting at the simulated broker (index paper_orders_status: a backtest holds thousands). */
  openPaperOrders: `SELECT body FROM paper_orders WHERE json_extract(body, '$.status') = 'open' ORDER BY rowid`,
} as const;

export class PaperAccount {
  private readonly st;

  constructor(
    private readonly db: Db,
    private readonly meta: MetaStore,
  ) {
    this.st = prepareAll(db, SQL);
  }

  /** One asset's free balance: placements and fills need one or two, not every asset ever held. */
  balance(asset: string): number {
    return (this.st.paperBalance.get(asset) as { free: number } | undefined)?.free ?? 0;
  }

  balances(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.st.paperBalances.all() as { asset: string; free: number }[]) out[r.asset] = r.free;
    return out;
  }

  /** Initialise the paper wallet once. */
  ensureWallet(quote: string, amount: number): void {
    if (this.meta.get('paper_initialised')) return;
    this.db.transaction(() => {
      this.st.setPaperBalance.run(quote, amount);
      this.meta.set('paper_initialised', '1');
    })();
  }

  order(clientOrderId: string): unknown {
    const r = this.st.getPaperOrder.get(clientOrderId) as { body: string } | undefined;
    return r ? JSON.parse(r.body) : undefined;
  }

  /** Cancel a resting simulated order (a protective trigger): nothing filled, no balance changes. */
  cancelOrder(clientOrderId: string): void {
    const o = this.order(clientOrderId) as { status?: string } | undefined;
    if (o?.status !== 'open') return;
    this.st.setPaperOrder.run(JSON.stringify({ ...o, status: 'canceled' }), clientOrderId);
  }

  openOrders(): unknown[] {
    return (this.st.openPaperOrders.all() as { body: string }[]).map((r) => JSON.parse(r.body) as unknown);
  }

  /** Store new and changed simulated orders and their balance changes atomically (one price step, one placement). */
  write(orders: { id: string; body: unknown; isNew: boolean }[], deltas: Record<string, number>): void {
    this.db.transaction(() => {
      for (const [asset, d] of Object.entries(deltas)) {
        const cur = (this.st.paperBalance.get(asset) as { free: number } | undefined)?.free ?? 0;
        this.st.setPaperBalance.run(asset, cur + d);
      }
      for (const o of orders) {
        if (o.isNew) this.st.putPaperOrder.run(o.id, JSON.stringify(o.body));
        else this.st.setPaperOrder.run(JSON.stringify(o.body), o.id);
      }
    })();
  }

  /** Store a simulated order and its balance changes atomically. */
  putOrder(clientOrderId: string, order: unknown, deltas: Record<string, number>): void {
    this.db.transaction(() => {
      for (const [asset, d] of Object.entries(deltas)) {
        const cur = (this.st.paperBalance.get(asset) as { free: number } | undefined)?.free ?? 0;
        this.st.setPaperBalance.run(asset, cur + d);
      }
      this.st.putPaperOrder.run(clientOrderId, JSON.stringify(order));
    })();
  }
}
