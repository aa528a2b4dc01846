import { deriveLedger, utcDay, type FillFact } from '../decide/index.js';
import { EPS } from '../ledger-math.js';
import { prepareAll, type Db } from './db.js';

/**
 * Fill facts and the positions derived from them (decide/ledger.ts). Whoever reports a fill - the executor's
 * order reply, the broker's event stream, a REST read-back after a gap - adds a fact here; the position of its
 * market and the realised P&L are then derived again from every fact of that market, so a fact reported twice or
 * late changes nothing it should not. An order's cumulative fees at one point only grow as they are learned (an
 * order reply that knew none says 0, the execution reports then say what was charged): the larger is kept.
 * Caller holds the transaction.
 */

const SQL = {
  addFill: `INSERT INTO fills (order_key, cum, avg_price, price, market, side, fee_quote, fee_base, at)
    VALUES (@order, @cum, @avg, @price, @market, @side, @feeQuote, @feeBase, @at)
    ON CONFLICT (order_key, cum) DO UPDATE SET avg_price = COALESCE(avg_price, excluded.avg_price),
      price = COALESCE(price, excluded.price),
      fee_quote = MAX(COALESCE(fee_quote, excluded.fee_quote), COALESCE(excluded.fee_quote, fee_quote)),
      fee_base = MAX(COALESCE(fee_base, excluded.fee_base), COALESCE(excluded.fee_base, fee_base)),
      at = MIN(at, excluded.at)`,
  marketFills: `SELECT order_key AS "order", cum, avg_price AS avg, price, market, side, fee_quote AS feeQuote,
    fee_base AS feeBase, at FROM fills WHERE market = ?`,
  upsertPosition: `INSERT INTO positions (market, amount, cost, updated_at) VALUES (@market, @amount, @cost, @now)
    ON CONFLICT(market) DO UPDATE SET amount = excluded.amount, cost = excluded.cost, updated_at = excluded.updated_at`,
  insertPnl: 'INSERT INTO pnl (day, market, realized, at) VALUES (?, ?, ?, ?)',
} as const;

type Row = Omit<FillFact, 'avg' | 'price' | 'feeQuote' | 'feeBase'> & {
  avg: number | null;
  price: number | null;
  feeQuote: number | null;
  feeBase: number | null;
};

export class FillStore {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  facts(market: string): FillFact[] {
    return (this.st.marketFills.all(market) as Row[]).map((r) => ({
      ...r,
      avg: r.avg ?? undefined,
      price: r.price ?? undefined,
      feeQuote: r.feeQuote ?? undefined,
      feeBase: r.feeBase ?? undefined,
    }));
  }

  /** Add a fact and derive its market again: the position row, and the realised P&L it changed (journaled now). */
  add(f: FillFact, now: number): void {
    const before = deriveLedger(this.facts(f.market)).realized;
    this.st.addFill.run({
      order: f.order,
      cum: Math.round(f.cum * 1e9) / 1e9,
      avg: f.avg ?? null,
      price: f.price ?? null,
      market: f.market,
      side: f.side,
      feeQuote: f.feeQuote ?? null,
      feeBase: f.feeBase ?? null,
      at: f.at,
    });
    const l = deriveLedger(this.facts(f.market));
    const p = l.positions.find((x) => x.market === f.market);
    this.st.upsertPosition.run({ market: f.market, amount: p?.amount ?? 0, cost: p?.cost ?? 0, now });
    const realized = l.realized - before;
    if (Math.abs(realized) > EPS) this.st.insertPnl.run(utcDay(now), f.market, realized, now);
  }
}
