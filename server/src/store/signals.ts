import {
  effectiveAction,
  type Classification,
  type HistoryQuery,
  type Signal,
  type SignalAction,
} from '@catalyst-signal/shared';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { getMeta } from './db.js';

const SQL = {
  head: `SELECT value FROM meta WHERE key = 'head_seq'`,
  setHead: `UPDATE meta SET value = ? WHERE key = 'head_seq'`,
  bySource: `SELECT seq FROM signals WHERE source_id = ?`,
  insert: `INSERT INTO signals (seq, source_id, symbol, catalyst, direction, confidence, ingested_ms, body,
                                action, asset_class, sentiment, keywords)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  bySeq: `SELECT body FROM signals WHERE seq = ?`,
  firstSeq: `SELECT min(seq) FROM signals`,
  pageAfterWithCols: `SELECT seq, symbol, catalyst, direction, confidence, action, asset_class, sentiment,
                             keywords, body FROM signals WHERE seq > ? ORDER BY seq LIMIT ?`,
  countAfter: `SELECT count(*) FROM signals WHERE seq > ?`,
  pruneBefore: `DELETE FROM signals WHERE ingested_ms < ? AND seq < ?`,
} as const;

/** A signal as stored: the parsed object and its JSON text (serialised once, at ingest). */
export interface StoredSignal {
  signal: Signal;
  json: string;
}

export interface AppendOutcome {
  /** One per input, in input order. */
  results: { source_id: string; seq: number; duplicate: boolean }[];
  /** The newly stored signals, in seq order. */
  fresh: StoredSignal[];
}

/** A stored row with the columns server-side filters look at (ws/filters.ts Filterable). */
export interface FilterableRow {
  seq: number;
  symbol: string;
  catalyst: string;
  /** '' when the signal has no direction. */
  direction: string;
  confidence: number;
  /** The effective action (effectiveAction), also for v1 rows. */
  action: SignalAction;
  asset_class: string | null;
  sentiment: number | null;
  keywords: string[] | null;
  body: string;
}

/** Keywords as stored: ",a,b," (NULL when none), so one instr(keywords, ',a,') finds a whole keyword. */
const keywordsColumn = (k: readonly string[] | undefined): string | null =>
  k && k.length ? `,${k.join(',')},` : null;

/** Turns an unsigned signal into its signature (detached JWS); injected so the store has no crypto. */
export type SignFn = (unsigned: Omit<Signal, 'sig'>) => string;

/**
 * The signal log on SQLite: the only place seqs are assigned. `append` runs in one transaction: dedupe by
 * source_id, assign head+1..., sign, insert, move head. The head lives in `meta`, not in max(seq), so
 * deleting old rows can never make a seq come back.
 */
export class SignalStore {
  readonly epoch: string;
  private headSeq: number;
  private readonly stmt;
  private readonly appendTx;
  /** One prepared statement per combination of history filters (at most 2^9), not one per request. */
  private readonly historyStmts = new Map<string, Statement>();

  constructor(private readonly db: Db) {
    this.epoch = getMeta(db, 'epoch')!;
    this.stmt = {
      head: db.prepare(SQL.head).pluck(),
      setHead: db.prepare(SQL.setHead),
      bySource: db.prepare(SQL.bySource).pluck(),
      insert: db.prepare(SQL.insert),
      bySeq: db.prepare(SQL.bySeq).pluck(),
      firstSeq: db.prepare(SQL.firstSeq).pluck(),
      pageAfterWithCols: db.prepare(SQL.pageAfterWithCols),
      countAfter: db.prepare(SQL.countAfter).pluck(),
      pruneBefore: db.prepare(SQL.pruneBefore),
    };
    this.headSeq = Number(this.stmt.head.get());
    this.appendTx = db.transaction((items: Classification[], sign: SignFn, now: Date) =>
      this.appendInTx(items, sign, now),
    );
  }

  /** Highest seq ever assigned (0 for a new store). */
  get head(): number {
    return this.headSeq;
  }

  /** Oldest seq still stored; head + 1 when nothing is retained. */
  firstSeq(): number {
    const v = this.stmt.firstSeq.get() as number | null;
    return v ?? this.headSeq + 1;
  }

  append(items: Classification[], sign: SignFn, now = new Date()): AppendOutcome {
    // Another process (a CLI) never assigns seqs, but re-reading the head inside the transaction costs
    // microseconds and makes a second writer impossible to go unnoticed.
    return this.appendTx(items, sign, now) as AppendOutcome;
  }

  private appendInTx(items: Classification[], sign: SignFn, now: Date): AppendOutcome {
    let head = Number(this.stmt.head.get());
    const ingestedAt = now.toISOString();
    const ms = now.getTime();
    const seen = new Map<string, number>();
    const results: AppendOutcome['results'] = [];
    const fresh: StoredSignal[] = [];
    for (const c of items) {
      const earlier = seen.get(c.source_id) ?? (this.stmt.bySource.get(c.source_id) as number | undefined);
      if (earlier !== undefined) {
        results.push({ source_id: c.source_id, seq: earlier, duplicate: true });
        continue;
      }
      const seq = ++head;
      const unsigned = { ...c, seq, epoch: this.epoch, ingested_at: ingestedAt };
      const signal: Signal = { ...unsigned, sig: sign(unsigned) };
      const json = JSON.stringify(signal);
      this.stmt.insert.run(
        seq,
        c.source_id,
        c.symbol,
        c.catalyst,
        c.direction ?? '',
        c.confidence,
        ms,
        json,
        effectiveAction(c),
        c.asset_class ?? null,
        c.sentiment ?? null,
        keywordsColumn(c.keywords),
      );
      seen.set(c.source_id, seq);
      results.push({ source_id: c.source_id, seq, duplicate: false });
      fresh.push({ signal, json });
    }
    if (fresh.length) this.stmt.setHead.run(String(head));
    // Only now, with every statement done, is the in-memory head moved; if COMMIT throws, the caller
    // resyncs from the database (resyncHead) because nothing here was kept.
    this.headSeq = head;
    return { results, fresh };
  }

  /** After a failed transaction, take the head back from the database. */
  resyncHead(): void {
    this.headSeq = Number(this.stmt.head.get());
  }

  getJson(seq: number): string | undefined {
    return this.stmt.bySeq.get(seq) as string | undefined;
  }

  /** Up to `limit` rows with seq > afterSeq, ascending: the body plus the columns filters look at. */
  rowsAfter(afterSeq: number, limit: number): FilterableRow[] {
    const rows = this.stmt.pageAfterWithCols.all(afterSeq, limit) as (Omit<FilterableRow, 'keywords'> & {
      keywords: string | null | string[];
    })[];
    for (const r of rows) if (typeof r.keywords === 'string') r.keywords = r.keywords.slice(1, -1).split(',');
    return rows as FilterableRow[];
  }

  countAfter(afterSeq: number): number {
    return this.stmt.countAfter.get(afterSeq) as number;
  }

  /** History query: filters in SQL, ascending by seq. Returns the bodies and the last seq examined. */
  history(q: HistoryQuery): { bodies: string[]; lastSeq: number } {
    const where: string[] = ['seq > ?'];
    const args: (string | number)[] = [q.after_seq];
    const add = (clause: string, value: string | number) => {
      where.push(clause);
      args.push(value);
    };
    if (q.symbol !== undefined) add('symbol = ?', q.symbol);
    if (q.catalyst !== undefined) add('catalyst = ?', q.catalyst);
    if (q.min_confidence !== undefined) add('confidence >= ?', q.min_confidence);
    if (q.action !== undefined) add('action = ?', q.action);
    if (q.asset_class !== undefined) add('asset_class = ?', q.asset_class);
    if (q.keyword !== undefined) add('instr(keywords, ?) > 0', `,${q.keyword},`);
    // NULL >= x is not true: a signal without sentiment does not pass, as the stream's filter.
    if (q.min_sentiment !== undefined) add('sentiment >= ?', q.min_sentiment);
    if (q.since !== undefined) add('ingested_ms >= ?', Date.parse(q.since));
    if (q.until !== undefined) add('ingested_ms < ?', Date.parse(q.until));
    const sql = `SELECT seq, body FROM signals WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`;
    let stmt = this.historyStmts.get(sql);
    if (!stmt) this.historyStmts.set(sql, (stmt = this.db.prepare(sql)));
    const rows = stmt.all(...args, q.limit) as { seq: number; body: string }[];
    return { bodies: rows.map((r) => r.body), lastSeq: rows.at(-1)?.seq ?? q.after_seq };
  }

  /** Retention: delete signals ingested before `beforeMs`. The newest signal is always kept. */
  pruneBefore(beforeMs: number): number {
    return this.stmt.pruneBefore.run(beforeMs, this.headSeq).changes;
  }
}
