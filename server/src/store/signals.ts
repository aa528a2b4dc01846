import { effectiveAction, type HistoryQuery } from '@catalyst-signal/shared';
import type { Statement } from 'better-sqlite3';
import type { FilterableRow, HistoryPage, SignalLogReader, StoredSignal } from '../log/types.js';
import type { Db } from './db.js';
import { getMeta } from './db.js';
import { TreeStore } from './tree.js';

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

const utf8 = new TextEncoder();

/** Keywords as stored: ",a,b," (NULL when none), so one instr(keywords, ',a,') finds a whole keyword. */
const keywordsColumn = (k: readonly string[] | undefined): string | null =>
  k && k.length ? `,${k.join(',')},` : null;

/** `insert` was handed seqs that do not continue the head: storing them would make a gap or a reuse. */
export class SeqOrderError extends Error {
  override name = 'SeqOrderError';
}

/**
 * The signal log on SQLite: rows plus the head. It does not choose seqs: `insert` stores already-sequenced
 * signals and refuses any that do not continue the head (store/sequencer.ts assigns them in one transaction
 * with the insert; a cluster gateway's replica applies the cluster's). The head lives in `meta`, not in
 * max(seq), so deleting old rows can never make a seq come back.
 */
export class SignalStore implements SignalLogReader {
  readonly epoch: string;
  private headSeq: number;
  private readonly stmt;
  private readonly tx;
  /** One prepared statement per combination of history filters (at most 2^9), not one per request. */
  private readonly historyStmts = new Map<string, Statement>();
  /** The transparency log's tree over the stored bytes, kept in step with the rows (docs/transparency-log.md). */
  readonly tree: TreeStore;

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
    this.tx = db.transaction((fn: () => unknown) => fn());
    this.tree = new TreeStore(db);
    this.catchUpTree();
  }

  /**
   * A database from before the transparency log (or one whose tree trails for any reason) gets its hashes
   * from the stored rows, which are the leaves. Rows pruned before that leave the tree unbuildable: then it
   * stays unavailable (and nothing is signed) rather than start at a leaf that is not seq 1.
   */
  private catchUpTree(): void {
    const t = this.tree;
    if (t.size >= this.headSeq) return;
    this.transaction(() => {
      for (let seq = t.size + 1; seq <= this.headSeq; seq++) {
        const json = this.getJson(seq);
        if (json === undefined) {
          t.unavailable = `signals up to seq ${seq} were pruned before this database kept the transparency log`;
          return;
        }
        t.append(seq - 1, utf8.encode(json));
      }
    });
  }

  /** Highest seq ever stored (0 for a new store). */
  get head(): number {
    return this.headSeq;
  }

  /** Oldest seq still stored; head + 1 when nothing is retained. */
  firstSeq(): number {
    const v = this.stmt.firstSeq.get() as number | null;
    return v ?? this.headSeq + 1;
  }

  /** Run `fn` in one transaction (or inside the caller's, when one is open): all of it commits, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.inTransaction ? fn() : (this.tx(fn) as T);
  }

  /**
   * The head as the database has it. Read inside a transaction before choosing seqs: another process (a
   * CLI) never assigns seqs, but re-reading costs microseconds and makes a second writer impossible to go
   * unnoticed.
   */
  readHead(): number {
    return Number(this.stmt.head.get());
  }

  /** The seq a source_id was stored under (dedupe), or undefined. */
  seqOf(sourceId: string): number | undefined {
    return this.stmt.bySource.get(sourceId) as number | undefined;
  }

  /**
   * Store already-sequenced signals and move the head, in one transaction. The seqs must be head+1, head+2,
   * ... (SeqOrderError otherwise, nothing stored). Inside a transaction already open (the sequencer's) it
   * joins it, and the opener calls resyncHead() if that transaction fails; the in-memory head moves only
   * once every statement ran.
   */
  insert(fresh: readonly StoredSignal[]): void {
    if (!fresh.length) return;
    if (this.db.inTransaction) return this.insertInTx(fresh);
    try {
      this.tx(() => this.insertInTx(fresh));
    } catch (err) {
      this.resyncHead();
      throw err;
    }
  }

  private insertInTx(fresh: readonly StoredSignal[]): void {
    const head = this.readHead();
    let iso = '';
    let ms = 0;
    fresh.forEach(({ signal: s, json }, i) => {
      if (s.seq !== head + 1 + i)
        throw new SeqOrderError(`seq ${s.seq} does not continue head ${head + i}: refused`);
      if (s.ingested_at !== iso) ms = Date.parse((iso = s.ingested_at));
      this.stmt.insert.run(
        s.seq,
        s.source_id,
        s.symbol,
        s.catalyst,
        s.direction ?? '',
        s.confidence,
        ms,
        json,
        effectiveAction(s),
        s.asset_class ?? null,
        s.sentiment ?? null,
        keywordsColumn(s.keywords),
      );
      // The leaf is the stored bytes (log/leaf.ts), hashed in this same transaction.
      if (this.tree.size === s.seq - 1) this.tree.append(s.seq - 1, utf8.encode(json));
    });
    const last = head + fresh.length;
    this.stmt.setHead.run(String(last));
    this.headSeq = last;
  }

  /** After a failed transaction, take the head (and the tree's size) back from the database. */
  resyncHead(): void {
    this.headSeq = Number(this.stmt.head.get());
    this.tree.resync();
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
  history(q: HistoryQuery): HistoryPage {
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
