import { prepareAll, type Db } from './db.js';
import type { DecisionRow } from './decisions.js';
import type { IntentRow } from './intents.js';

/**
 * Read-only queries of the local dashboard (client/src/dashboard). The dashboard opens its OWN connection to the
 * journal (the file is SQLite WAL, so it reads while `run` writes, in this process or another), and asks
 * `PRAGMA data_version` every few tens of ms: that number changes only when ANOTHER connection committed, so
 * an idle journal costs one tiny pragma per tick; then it reads the change log (changes.ts). Every list is
 * bounded (LIMIT).
 */

/** A fill with the signal that caused it (catalyst kind, action), for P&L attribution. */
export interface FillRow {
  client_order_id: string;
  epoch: string;
  seq: number;
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
  /** The signal's confidence (0..1), when it had one. */
  confidence: number | null;
  /** The US market session its decision met (pre / regular / after / closed); null on crypto or older journals. */
  session: string | null;
}

const SQL = {
  dataVersion: 'PRAGMA data_version',
  recentDecisions: 'SELECT * FROM decisions ORDER BY id DESC LIMIT ?',
  signalOf: 'SELECT signal FROM decisions WHERE epoch = ? AND seq = ?',
  decisionAt: 'SELECT * FROM decisions WHERE epoch = ? AND seq = ?',
  /** The newest decision by id (ids grow with time): no scan of the table. */
  lastReceivedAt: 'SELECT received_at AS v FROM decisions ORDER BY id DESC LIMIT 1',
  recentIntents: 'SELECT * FROM intents ORDER BY updated_at DESC, rowid DESC LIMIT ?',
  openProtective: `SELECT * FROM intents WHERE leg IN ('sl', 'tp', 'protect', 'bracket_tp', 'bracket_sl')
    AND status IN ('pending', 'open')
    ORDER BY created_at LIMIT 500`,
  fills: `SELECT i.client_order_id, i.epoch, i.seq, i.market, i.side, i.leg, i.filled, i.avg_price, i.fee_quote,
      i.fee_base, i.updated_at,
      json_extract(d.signal, '$.catalyst') AS catalyst, json_extract(d.signal, '$.action') AS action,
      json_extract(d.signal, '$.direction') AS direction, json_extract(d.signal, '$.confidence') AS confidence,
      d.session AS session
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

  decisionAt(epoch: string, seq: number): DecisionRow | undefined {
    return this.st.decisionAt.get(epoch, seq) as DecisionRow | undefined;
  }
  signalOf(epoch: string, seq: number): string | undefined {
    return (this.st.signalOf.get(epoch, seq) as { signal: string } | undefined)?.signal;
  }
  lastReceivedAt(): number | null {
    return (this.st.lastReceivedAt.get() as { v: number } | undefined)?.v ?? null;
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
