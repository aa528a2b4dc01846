import { prepareAll, type Db } from './db.js';
import type { DecisionRow } from './decisions.js';
import type { IntentRow } from './intents.js';

/**
 * Read-only queries of `catalyst-client export`, read in pages (keyset, PAGE rows) so a journal of years
 * exports in constant memory and the connection is free between pages for the per-row lookups. Oldest first.
 */

const PAGE = 500;

const SQL = {
  decisions: 'SELECT * FROM decisions WHERE decided_at >= ? AND id > ? ORDER BY id LIMIT ?',
  orders: 'SELECT rowid AS rid, * FROM intents WHERE created_at >= ? AND rowid > ? ORDER BY rowid LIMIT ?',
  fills: `SELECT i.rowid AS rid, i.*, json_extract(d.signal, '$.catalyst') AS catalyst,
      json_extract(d.signal, '$.action') AS action, d.symbol AS symbol
    FROM intents i LEFT JOIN decisions d ON d.epoch = i.epoch AND d.seq = i.seq
    WHERE i.filled > 0 AND i.updated_at >= ? AND (i.updated_at, i.rowid) > (?, ?)
    ORDER BY i.updated_at, i.rowid LIMIT ?`,
} as const;

export type FillExportRow = IntentRow & {
  catalyst: string | null;
  action: string | null;
  symbol: string | null;
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
  *fills(since: number): Generator<FillExportRow> {
    for (let at = -1, after = 0; ;) {
      const page = this.st.fills.all(since, at, after, PAGE) as (FillExportRow & { rid: number })[];
      yield* page;
      if (page.length < PAGE) return;
      at = page.at(-1)!.updated_at;
      after = page.at(-1)!.rid;
    }
  }
}
