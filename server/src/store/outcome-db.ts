import path from 'node:path';
import Database from 'better-sqlite3';
import { mergeRanges, type Bar, type BarStore, type Range } from '@catalyst-signal/shared/market-data';
import type { HorizonOutcome } from '@catalyst-signal/shared/outcomes';
import type { OutcomeFigures, SignalFacets } from '../outcomes/aggregate.js';

/**
 * Outcomes of signals and the bar cache behind them, in their own file (`outcomes.db` in the data directory),
 * not in catalyst.db: everything here is derived from the log and market data and can be rebuilt, so it never
 * touches the signal log's migrations, its checkpoints or its backups.
 */

export const OUTCOME_DB_FILE = 'outcomes.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bars (symbol TEXT NOT NULL, t INTEGER NOT NULL, o REAL NOT NULL, h REAL NOT NULL,
  l REAL NOT NULL, c REAL NOT NULL, v REAL NOT NULL, n REAL, vw REAL, PRIMARY KEY (symbol, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bars_covered (symbol TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
  PRIMARY KEY (symbol, start));
CREATE TABLE IF NOT EXISTS outcome_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per signal still waiting for a horizon; due: when the next horizon's bars are final (SIP).
CREATE TABLE IF NOT EXISTS outcome_jobs (seq INTEGER PRIMARY KEY, symbol TEXT NOT NULL, signal TEXT NOT NULL,
  due INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outcome_jobs_due ON outcome_jobs (due);
-- Final figures only (a horizon that has passed, with final data); missing figures are rows with missing set.
CREATE TABLE IF NOT EXISTS outcomes (seq INTEGER NOT NULL, horizon TEXT NOT NULL, missing TEXT, figures TEXT NOT NULL,
  computed_at INTEGER NOT NULL, PRIMARY KEY (seq, horizon));
-- What the track record groups and filters each signal by, taken once when the worker reads it.
CREATE TABLE IF NOT EXISTS outcome_signals (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, symbol TEXT NOT NULL,
  action TEXT NOT NULL, direction TEXT, catalyst TEXT NOT NULL, session TEXT NOT NULL, confidence REAL NOT NULL,
  publisher TEXT, keywords TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outcome_signals_at ON outcome_signals (at);
`;

const SQL = {
  covered: 'SELECT start, end FROM bars_covered WHERE symbol = ? AND end >= ? AND start <= ? ORDER BY start',
  allCovered: 'SELECT start, end FROM bars_covered WHERE symbol = ? ORDER BY start',
  deleteCovered: 'DELETE FROM bars_covered WHERE symbol = ?',
  insertCovered: 'INSERT INTO bars_covered (symbol, start, end) VALUES (?, ?, ?)',
  readBars: 'SELECT t, o, h, l, c, v, n, vw FROM bars WHERE symbol = ? AND t >= ? AND t < ? ORDER BY t',
  upsertBar:
    'INSERT OR REPLACE INTO bars (symbol, t, o, h, l, c, v, n, vw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  getMeta: 'SELECT value FROM outcome_meta WHERE key = ?',
  setMeta: 'INSERT OR REPLACE INTO outcome_meta (key, value) VALUES (?, ?)',
  addJob: 'INSERT OR IGNORE INTO outcome_jobs (seq, symbol, signal, due) VALUES (?, ?, ?, ?)',
  addFacets:
    'INSERT OR IGNORE INTO outcome_signals (seq, at, symbol, action, direction, catalyst, session, confidence, publisher, keywords) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  dueJobs: 'SELECT seq, symbol, signal, due FROM outcome_jobs WHERE due <= ? ORDER BY due, seq LIMIT ?',
  setDue: 'UPDATE outcome_jobs SET due = ? WHERE seq = ?',
  doneJob: 'DELETE FROM outcome_jobs WHERE seq = ?',
  putOutcome:
    'INSERT OR REPLACE INTO outcomes (seq, horizon, missing, figures, computed_at, ret, abnormal) VALUES (?, ?, ?, ?, ?, ?, ?)',
  outcomesOf: 'SELECT figures FROM outcomes WHERE seq = ? ORDER BY rowid',
  facetOf: 'SELECT * FROM outcome_signals WHERE seq = ?',
  putJob: 'INSERT OR REPLACE INTO outcome_jobs (seq, symbol, signal, due) VALUES (?, ?, ?, ?)',
} as const;

/**
 * One signal's outcomes as the cluster's lease holder publishes them (docs/outcomes.md "Cluster mode"): every
 * final horizon so far, the facets the track record groups by, and the job's state, so any node can serve it and
 * a successor resumes where it stopped. Derived figures only, never bars.
 */
export interface PublishedOutcome {
  seq: number;
  symbol: string;
  /** The OutcomeSignal as JSON (what the job computes from). */
  signal: string;
  facets: SignalFacets;
  outcomes: HorizonOutcome[];
  /** When the next horizon's data is final; null when every horizon is (the job is done). */
  next_due: number | null;
  computed_at: number;
}

export interface OutcomeJob {
  seq: number;
  symbol: string;
  /** The OutcomeSignal as JSON. */
  signal: string;
  due: number;
  /** What the track record groups it by. */
  facets?: SignalFacets | undefined;
}

/** Which signals a track record covers (all optional; `to` exclusive). */
export interface FacetFilter {
  from?: number | undefined;
  to?: number | undefined;
  symbol?: string | undefined;
  catalyst?: string | undefined;
  action?: string | undefined;
  session?: string | undefined;
  keyword?: string | undefined;
  publisher?: string | undefined;
  min_confidence?: number | undefined;
}

interface FacetRow {
  seq: number;
  at: number;
  symbol: string;
  action: SignalFacets['action'];
  direction: string | null;
  catalyst: string;
  session: SignalFacets['session'];
  confidence: number;
  publisher: string | null;
  keywords: string;
}

const facetOfRow = (r: FacetRow): SignalFacets => ({
  seq: r.seq,
  at: r.at,
  symbol: r.symbol,
  action: r.action,
  direction: r.direction ?? undefined,
  catalyst: r.catalyst,
  session: r.session,
  confidence: r.confidence,
  publisher: r.publisher ?? undefined,
  keywords: JSON.parse(r.keywords) as string[],
});

interface BarRow {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n: number | null;
  vw: number | null;
}

export class OutcomeDb implements BarStore {
  readonly db: Database.Database;
  private readonly st: { [K in keyof typeof SQL]: Database.Statement };
  private changes = 0;

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, OUTCOME_DB_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    // The figures the track record aggregates, as columns: reading them does not parse every row's JSON (a
    // year of signals is 350k rows). Added to a file made before them, filled from the JSON once.
    const cols = (this.db.pragma('table_info(outcomes)') as { name: string }[]).map((c) => c.name);
    if (!cols.includes('ret'))
      this.db.exec(`ALTER TABLE outcomes ADD COLUMN ret REAL; ALTER TABLE outcomes ADD COLUMN abnormal REAL;
        UPDATE outcomes SET ret = json_extract(figures, '$.ret'), abnormal = json_extract(figures, '$.abnormalRet');`);
    this.st = Object.fromEntries(Object.entries(SQL).map(([k, q]) => [k, this.db.prepare(q)])) as {
      [K in keyof typeof SQL]: Database.Statement;
    };
  }

  covered(symbol: string, start: number, end: number): Range[] {
    return (this.st.covered.all(symbol, start, end) as { start: number; end: number }[]).map(
      (r) => [r.start, r.end] as const,
    );
  }

  read(symbol: string, start: number, end: number): Bar[] {
    return (this.st.readBars.all(symbol, start, end) as BarRow[]).map((r) => ({
      ...r,
      n: r.n ?? undefined,
      vw: r.vw ?? undefined,
    }));
  }

  write(symbol: string, start: number, end: number, bars: readonly Bar[]): void {
    this.db.transaction(() => {
      for (const b of bars)
        if (b.t >= start && b.t < end)
          this.st.upsertBar.run(symbol, b.t, b.o, b.h, b.l, b.c, b.v, b.n ?? null, b.vw ?? null);
      const all = (this.st.allCovered.all(symbol) as { start: number; end: number }[]).map(
        (r) => [r.start, r.end] as const,
      );
      this.st.deleteCovered.run(symbol);
      for (const [a, b] of mergeRanges([...all, [start, end]])) this.st.insertCovered.run(symbol, a, b);
    })();
  }

  /** The last log seq the worker has looked at. */
  cursor(): number {
    const row = this.st.getMeta.get('cursor') as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /**
   * New jobs and the cursor past them (when given), in one transaction (a crash re-reads, never skips). A
   * signal whose facets are already stored is known (a backfill or an earlier scan made its job, which may be
   * done): it gets no second job. Returns how many jobs were added.
   */
  addJobs(jobs: readonly OutcomeJob[], cursor?: number): number {
    this.changes++;
    return this.db.transaction(() => {
      let added = 0;
      for (const j of jobs) {
        const f = j.facets;
        if (f) {
          const fresh = this.st.addFacets.run(
            f.seq,
            f.at,
            f.symbol,
            f.action,
            f.direction ?? null,
            f.catalyst,
            f.session,
            f.confidence,
            f.publisher ?? null,
            JSON.stringify(f.keywords),
          ).changes;
          if (fresh === 0) continue;
        }
        added += this.st.addJob.run(j.seq, j.symbol, j.signal, j.due).changes;
      }
      if (cursor !== undefined) this.st.setMeta.run('cursor', String(cursor));
      return added;
    })();
  }

  /** Jobs due at `now`: what a backfill has left to compute. */
  dueCount(now: number): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM outcome_jobs WHERE due <= ?').get(now) as { n: number }
    ).n;
  }

  dueJobs(now: number, limit: number): OutcomeJob[] {
    return this.st.dueJobs.all(now, limit) as OutcomeJob[];
  }

  /** Final outcomes of one signal; `nextDue` undefined when every horizon is final (the job is done). */
  saveOutcomes(
    seq: number,
    final: readonly HorizonOutcome[],
    nextDue: number | undefined,
    now: number,
  ): void {
    this.changes++;
    this.db.transaction(() => {
      for (const o of final)
        this.st.putOutcome.run(
          seq,
          o.horizon,
          o.missing ?? null,
          JSON.stringify(o),
          now,
          o.ret ?? null,
          o.abnormalRet ?? null,
        );
      if (nextDue === undefined) this.st.doneJob.run(seq);
      else this.st.setDue.run(nextDue, seq);
    })();
  }

  outcomes(seq: number): HorizonOutcome[] {
    return (this.st.outcomesOf.all(seq) as { figures: string }[]).map(
      (r) => JSON.parse(r.figures) as HorizonOutcome,
    );
  }

  /** The newest published record applied here (its stream seq), 0 before any. */
  publishedSeq(): number {
    const row = this.st.getMeta.get('published_seq') as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /**
   * Apply a record the lease holder published, once: a record at or below the newest applied is skipped (the
   * holder applies its own at once and the watch brings them back later; an older one would move a job back).
   * Returns whether it was applied.
   */
  applyPublished(r: PublishedOutcome, streamSeq: number): boolean {
    return this.db.transaction(() => {
      if (streamSeq <= this.publishedSeq()) return false;
      this.changes++;
      const f = r.facets;
      this.st.addFacets.run(
        f.seq,
        f.at,
        f.symbol,
        f.action,
        f.direction ?? null,
        f.catalyst,
        f.session,
        f.confidence,
        f.publisher ?? null,
        JSON.stringify(f.keywords),
      );
      for (const o of r.outcomes)
        this.st.putOutcome.run(
          r.seq,
          o.horizon,
          o.missing ?? null,
          JSON.stringify(o),
          r.computed_at,
          o.ret ?? null,
          o.abnormalRet ?? null,
        );
      if (r.next_due === null) this.st.doneJob.run(r.seq);
      else this.st.putJob.run(r.seq, r.symbol, r.signal, r.next_due);
      this.st.setMeta.run('published_seq', String(streamSeq));
      return true;
    })();
  }

  /** One signal's facets, as stored when its job was made. */
  facet(seq: number): SignalFacets | undefined {
    const r = this.st.facetOf.get(seq) as FacetRow | undefined;
    return r && facetOfRow(r);
  }

  /** Facets of the signals a filter selects, oldest first. */
  facets(f: FacetFilter): SignalFacets[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const eq = (col: string, v: string | number | undefined, op = '=') => {
      if (v === undefined) return;
      where.push(`${col} ${op} ?`);
      args.push(v);
    };
    eq('at', f.from, '>=');
    eq('at', f.to, '<');
    eq('symbol', f.symbol);
    eq('catalyst', f.catalyst);
    eq('action', f.action);
    eq('session', f.session);
    eq('publisher', f.publisher);
    eq('confidence', f.min_confidence, '>=');
    if (f.keyword !== undefined) {
      where.push('EXISTS (SELECT 1 FROM json_each(keywords) WHERE value = ?)');
      args.push(f.keyword);
    }
    const sql = `SELECT * FROM outcome_signals${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq`;
    return (this.db.prepare(sql).all(...args) as FacetRow[]).map(facetOfRow);
  }

  /** What the aggregates need of every stored outcome of signals with seq in [from, to], in seq order. */
  figuresBetween(from: number, to: number): { seq: number; outcome: OutcomeFigures }[] {
    const rows = this.db
      .prepare(
        'SELECT seq, horizon, missing, ret, abnormal FROM outcomes WHERE seq >= ? AND seq <= ? ORDER BY seq',
      )
      .raw()
      .all(from, to) as [number, string, string | null, number | null, number | null][];
    return rows.map(([seq, horizon, missing, ret, abnormal]) => ({
      seq,
      outcome: {
        horizon,
        missing: (missing ?? undefined) as OutcomeFigures['missing'],
        ret: ret ?? undefined,
        abnormalRet: abnormal ?? undefined,
      },
    }));
  }

  /** Changes since this handle opened (outcomes or jobs): what a cached track record is keyed by. */
  get version(): number {
    return this.changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
