import { prepareAll, type Db } from './db.js';

/**
 * The journal's change log: one row per thing a watcher (the dashboard's live feed, notifications) may want to
 * know, appended IN THE SAME TRANSACTION as the write it describes, so a reader that follows `WHERE id > ?`
 * never sees a decision without its change row or the other way round. `id` is an INTEGER PRIMARY KEY without
 * AUTOINCREMENT and rows are never deleted: a rolled-back transaction gives its id back, so the ids a reader
 * sees are gapless (1, 2, 3, ...) and "the last id I handled" is a complete resume point.
 *
 * Only the journal's own write methods append (client/src/journal/index.ts): callers never do, so no write can
 * forget its change row. To add a kind, add it to ChangeKind and call `changes.append(...)` inside the write's
 * transaction.
 */

export const CHANGE_KINDS = [
  /** A signal decided (data: DecisionChange). */
  'decision',
  /** A held signal decided again at the open (data: DecisionChange without signal fields). */
  'redecision',
  /** An order intent created or its state changed: status, fill, price, error (data: the intent row). */
  'order',
  /** A venue order event (helper A's order_events). */
  'order_event',
  /** A reconciliation incident (helper B's incidents). */
  'incident',
  /** A position held at the broker adopted as this client's own (data: the adoptions row). */
  'adoption',
  /** Kill switch flipped (data: { on, reason? }). */
  'kill_switch',
  /** Trading halted or the halt cleared (data: { halted: reason | null }). */
  'halt',
  /** A gap in the signal stream accepted (data: { from_seq, to_seq, reason }). */
  'gap',
  /** Approval mode: an entry approved or rejected by the friend (data: { state, via }). */
  'approval',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** What a change is about: the signal (epoch, seq) and its symbol, when there is one. */
export interface ChangeRefs {
  symbol?: string | null | undefined;
  epoch?: string | null | undefined;
  seq?: number | null | undefined;
}

export interface ChangeRow {
  id: number;
  at: number;
  kind: ChangeKind;
  symbol: string | null;
  epoch: string | null;
  seq: number | null;
  /** The kind's payload (JSON object). */
  data: Record<string, unknown>;
}

/** Payload of `decision` and `redecision` changes. */
export interface DecisionChange {
  /** decisions.id (decision) or redecisions.rowid (redecision): the row the change describes. */
  row_id: number;
  verdict: string;
  reason: string;
  detail: string | null;
  decided_at: number;
  catalyst?: string | null;
  action?: string | null;
  direction?: string | null;
  price?: number | null;
  headline?: string | null;
}

const SQL = {
  append: `INSERT INTO changes (at, kind, symbol, epoch, seq, data) VALUES (?, ?, ?, ?, ?, ?)`,
  after: 'SELECT id, at, kind, symbol, epoch, seq, data FROM changes WHERE id > ? ORDER BY id LIMIT ?',
  last: 'SELECT COALESCE(MAX(id), 0) AS v FROM changes',
} as const;

function parse(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export class ChangeLog {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  /** Caller (a journal write method) holds the transaction of the write this change describes. Returns the id. */
  append(kind: ChangeKind, at: number, refs: ChangeRefs, data: object): number {
    const r = this.st.append.run(
      at,
      kind,
      refs.symbol ?? null,
      refs.epoch ?? null,
      refs.seq ?? null,
      JSON.stringify(data),
    );
    return Number(r.lastInsertRowid);
  }

  /** Changes with id > `id`, oldest first, at most `limit`. */
  after(id: number, limit: number): ChangeRow[] {
    type Raw = Omit<ChangeRow, 'data'> & { data: string };
    return (this.st.after.all(id, limit) as Raw[]).map((r) => ({ ...r, data: parse(r.data) }));
  }

  /** The newest id (0 when empty): a reader that only wants what happens from now on starts here. */
  lastId(): number {
    return (this.st.last.get() as { v: number }).v;
  }
}
