import { fillSteps, type FillFact, type FillStep } from '../decide/index.js';
import { prepareAll, type Db } from './db.js';
import type { DecisionRow } from './decisions.js';
import type { IntentRow } from './intents.js';

interface PointRow {
  order: string;
  cum: number;
  avg: number | null;
  price: number | null;
  market: string;
  side: 'buy' | 'sell';
  feeQuote: number | null;
  feeBase: number | null;
  at: number;
}
const fact = (r: PointRow): FillFact => ({
  ...r,
  avg: r.avg ?? undefined,
  price: r.price ?? undefined,
  feeQuote: r.feeQuote ?? undefined,
  feeBase: r.feeBase ?? undefined,
});

/**
 * Read-only queries of `catalyst-client export`, read in pages (keyset, PAGE rows) so a journal of years
 * exports in constant memory and the connection is free between pages for the per-row lookups. Oldest first.
 */

const PAGE = 500;

const SQL = {
  decisions: 'SELECT * FROM decisions WHERE decided_at >= ? AND id > ? ORDER BY id LIMIT ?',
  orders: 'SELECT rowid AS rid, * FROM intents WHERE created_at >= ? AND rowid > ? ORDER BY rowid LIMIT ?',
  /**
   * One row per fill point (an order's cumulative fill after one execution), in the order the journal learned of
   * them, with the intent it belongs to (its own, or its parent's for a broker-made leg), the broker's order id
   * and the execution id the broker named for that point (order_events), when it named one.
   */
  fills: `SELECT f.rowid AS rid, f.order_key, f.cum, f.avg_price, f.price, f.market, f.side, f.fee_quote, f.fee_base,
      f.at, COALESCE(b.order_id, CASE WHEN i.client_order_id = f.order_key THEN i.exchange_order_id END) AS order_id,
      (SELECT e.execution_id FROM order_events e WHERE e.order_id = b.order_id AND e.execution_id IS NOT NULL
        AND ABS(e.filled - f.cum) < 1e-9 ORDER BY e.at, e.rowid LIMIT 1) AS execution_id,
      i.epoch, i.seq, i.leg, d.symbol AS symbol, json_extract(d.signal, '$.catalyst') AS catalyst,
      json_extract(d.signal, '$.action') AS action
    FROM fills f
    LEFT JOIN broker_orders b ON b.order_id =
      (SELECT order_id FROM broker_orders WHERE client_order_id = f.order_key ORDER BY rowid LIMIT 1)
    LEFT JOIN intents i ON i.client_order_id = COALESCE(
      (SELECT client_order_id FROM intents WHERE client_order_id = f.order_key), b.intent_id)
    LEFT JOIN decisions d ON d.epoch = i.epoch AND d.seq = i.seq
    WHERE f.at >= ? AND f.rowid > ? ORDER BY f.rowid LIMIT ?`,
  /** The points of one order up to one, for the step (execution) that reached it. */
  orderPoints: `SELECT order_key AS "order", cum, avg_price AS avg, price, market, side, fee_quote AS feeQuote,
    fee_base AS feeBase, at FROM fills WHERE order_key = ? AND cum <= ? ORDER BY cum`,
} as const;

/** A fill point with what it belongs to (see SQL.fills). */
export interface FillPointRow {
  order_key: string;
  cum: number;
  at: number;
  market: string;
  side: 'buy' | 'sell';
  order_id: string | null;
  execution_id: string | null;
  epoch: string | null;
  seq: number | null;
  leg: string | null;
  symbol: string | null;
  catalyst: string | null;
  action: string | null;
}

/** One execution: a fill point and the step that reached it (decide/ledger.ts fillSteps: the same arithmetic). */
export type FillExportRow = FillPointRow & {
  /** Its number within its order: 1, 2, ... */
  n: number;
  step: FillStep;
};

export class ExportQueries {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  *decisions(since: number): Generator<DecisionRow> {
    for (let after = 0; ;) {
      const page = this.st.decisions.all(since, after, PAGE) as DecisionRow[];
      yield* page;
      if (page.length < PAGE) return;
      after = page.at(-1)!.id;
    }
  }
  *orders(since: number): Generator<IntentRow> {
    for (let after = 0; ;) {
      const page = this.st.orders.all(since, after, PAGE) as (IntentRow & { rid: number })[];
      yield* page;
      if (page.length < PAGE) return;
      after = page.at(-1)!.rid;
    }
  }
  /** One row per execution (a point whose step moved nothing, e.g. a rounding echo, is left out). */
  *fills(since: number): Generator<FillExportRow> {
    for (let after = 0; ;) {
      const page = this.st.fills.all(since, after, PAGE) as (FillPointRow & { rid: number })[];
      for (const p of page) {
        const points = this.st.orderPoints.all(p.order_key, p.cum) as PointRow[];
        const steps = fillSteps(points.map(fact));
        const step = steps.at(-1);
        if (step && Math.abs(step.cum - p.cum) < 1e-9) yield { ...p, n: steps.length, step };
      }
      if (page.length < PAGE) return;
      after = page.at(-1)!.rid;
    }
  }
}
