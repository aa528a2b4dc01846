import { prepareAll, type Db } from './db.js';
import type { DecisionRow } from './decisions.js';
import type { IntentRow } from './intents.js';

/**
 * Read-only queries of the local dashboard (client/src/dashboard). The dashboard opens its OWN connection to the
 * journal (the file is SQLite WAL, so it reads while `run` writes, in this process or another), and asks
 * `PRAGMA data_version` every few tens of ms: that number changes only when ANOTHER connection committed, so
 * an idle journal costs one tiny pragma per tick. Every list is bounded (LIMIT).
 */

/** A fill with the signal that caused it (catalyst kind, action), for P&L attribution. */
export interface FillRow {
  client_order_id: string;
  market: string;
  side: 'buy' | 'sell';
  leg: string;
  filled: number;
  avg_price: number | null;
  fee_quote: number;
  fee_base: number;
  updated_at: number;
  catalyst: string | null;
  action: string | null;
  direction: string | null;
}

/** A second decision (hold_until_open) with its rowid, the position in the dashboard's change scan. */
export interface RedecisionEventRow {
  rid: number;
  epoch: string;
  seq: number;
  verdict: string;
  reason: string;
  detail: string | null;
  decided_at: number;
  symbol: string | null;
}

const SQL = {
  dataVersion: 'PRAGMA data_version',
  recentDecisions: 'SELECT * FROM decisions ORDER BY id DESC LIMIT ?',
  decisionsAfter: 'SELECT * FROM decisions WHERE id > ? ORDER BY id LIMIT ?',
  maxDecisionId: 'SELECT COALESCE(MAX(id), 0) AS v FROM decisions',
  redecisionsAfter: `SELECT r.rowid AS rid, r.epoch, r.seq, r.verdict, r.reason, r.detail, r.decided_at, d.symbol
    FROM redecisions r LEFT JOIN decisions d ON d.epoch = r.epoch AND d.seq = r.seq WHERE r.rowid > ? ORDER BY r.rowid LIMIT ?`,
  maxRedecisionRowid: 'SELECT COALESCE(MAX(rowid), 0) AS v FROM redecisions',
  intentsChangedSince: 'SELECT * FROM intents WHERE updated_at >= ? ORDER BY updated_at, rowid LIMIT ?',
  maxIntentUpdate: 'SELECT COALESCE(MAX(updated_at), 0) AS v FROM intents',
  recentIntents: 'SELECT * FROM intents ORDER BY updated_at DESC, rowid DESC LIMIT ?',
  openProtective: `SELECT * FROM intents WHERE leg IN ('sl', 'tp', 'protect', 'bracket_tp', 'bracket_sl')
    AND status IN ('pending', 'open')
    ORDER BY created_at LIMIT 500`,
  fills: `SELECT i.client_order_id, i.market, i.side, i.leg, i.filled, i.avg_price, i.fee_quote, i.fee_base, i.updated_at,
      json_extract(d.signal, '$.catalyst') AS catalyst, json_extract(d.signal, '$.action') AS action,
      json_extract(d.signal, '$.direction') AS direction
    FROM intents i LEFT JOIN decisions d ON d.epoch = i.epoch AND d.seq = i.seq
    WHERE i.filled > 0 ORDER BY i.updated_at, i.rowid LIMIT ?`,
  /** The last price this client recorded per market: a fill's average, else the reference price of a decision. */
  lastPrices: `SELECT market, CASE WHEN filled > 0 AND avg_price IS NOT NULL THEN avg_price ELSE ref_price END AS price,
    MAX(updated_at) AS at FROM intents GROUP BY market`,
  positions: 'SELECT market, amount, cost FROM positions WHERE amount > 0 ORDER BY market',
  pnl: 'SELECT at, realized, market FROM pnl ORDER BY id LIMIT ?',
  totalPnl: 'SELECT COALESCE(SUM(realized), 0) AS v FROM pnl',
  realizedSince: 'SELECT COALESCE(SUM(realized), 0) AS v FROM pnl WHERE at >= ?',
} as const;

export class DashboardQueries {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  /** Changes whenever another connection commits to the journal file. */
  dataVersion(): number {
    return (this.st.dataVersion.get() as { data_version: number }).data_version;
  }
  recentDecisions(limit: number): DecisionRow[] {
    return this.st.recentDecisions.all(limit) as DecisionRow[];
  }
  decisionsAfter(id: number, limit: number): DecisionRow[] {
    return this.st.decisionsAfter.all(id, limit) as DecisionRow[];
  }
  maxDecisionId(): number {
    return (this.st.maxDecisionId.get() as { v: number }).v;
  }
  redecisionsAfter(rowid: number, limit: number): RedecisionEventRow[] {
    return this.st.redecisionsAfter.all(rowid, limit) as RedecisionEventRow[];
  }
  maxRedecisionRowid(): number {
    return (this.st.maxRedecisionRowid.get() as { v: number }).v;
  }
  intentsChangedSince(ms: number, limit: number): IntentRow[] {
    return this.st.intentsChangedSince.all(ms, limit) as IntentRow[];
  }
  maxIntentUpdate(): number {
    return (this.st.maxIntentUpdate.get() as { v: number }).v;
  }
  recentIntents(limit: number): IntentRow[] {
    return this.st.recentIntents.all(limit) as IntentRow[];
  }
  openProtective(): IntentRow[] {
    return this.st.openProtective.all() as IntentRow[];
  }
  fills(limit = 20_000): FillRow[] {
    return this.st.fills.all(limit) as FillRow[];
  }
  lastPrices(): Record<string, { price: number; at: number }> {
    const out: Record<string, { price: number; at: number }> = {};
    for (const r of this.st.lastPrices.all() as { market: string; price: number; at: number }[])
      out[r.market] = { price: r.price, at: r.at };
    return out;
  }
  positions(): { market: string; amount: number; cost: number }[] {
    return this.st.positions.all() as { market: string; amount: number; cost: number }[];
  }
  realizedSeries(limit = 20_000): { at: number; realized: number; market: string }[] {
    return this.st.pnl.all(limit) as { at: number; realized: number; market: string }[];
  }
  totalRealized(): number {
    return (this.st.totalPnl.get() as { v: number }).v;
  }
  realizedSince(start: number): number {
    return (this.st.realizedSince.get(start) as { v: number }).v;
  }
}
