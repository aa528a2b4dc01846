import Database from 'better-sqlite3';
import { mergeRanges, type Bar, type BarStore, type Range } from '@catalyst-signal/shared/market-data';

/**
 * The client's bar cache: `bars.sqlite` in the data directory, beside (not inside) the journal, so deleting it
 * only costs refetches. The policy (what is fetched, what may be stored) is shared's CachedMarketData; this file
 * only keeps rows.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bars (symbol TEXT NOT NULL, t INTEGER NOT NULL, o REAL NOT NULL, h REAL NOT NULL,
  l REAL NOT NULL, c REAL NOT NULL, v REAL NOT NULL, n REAL, vw REAL, PRIMARY KEY (symbol, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS covered (symbol TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
  PRIMARY KEY (symbol, start));
`;
const SQL_COVERED =
  'SELECT start, end FROM covered WHERE symbol = ? AND end >= ? AND start <= ? ORDER BY start';
const SQL_ALL_COVERED = 'SELECT start, end FROM covered WHERE symbol = ? ORDER BY start';
const SQL_DELETE_COVERED = 'DELETE FROM covered WHERE symbol = ?';
const SQL_INSERT_COVERED = 'INSERT INTO covered (symbol, start, end) VALUES (?, ?, ?)';
const SQL_READ = 'SELECT t, o, h, l, c, v, n, vw FROM bars WHERE symbol = ? AND t >= ? AND t < ? ORDER BY t';
const SQL_UPSERT =
  'INSERT OR REPLACE INTO bars (symbol, t, o, h, l, c, v, n, vw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** A bar row as its cells (SQL_READ's column order). */
type BarCells = [number, number, number, number, number, number, number | null, number | null];

export class SqliteBarStore implements BarStore {
  private readonly db: Database.Database;
  private readonly q: {
    covered: Database.Statement<[string, number, number], { start: number; end: number }>;
    allCovered: Database.Statement<[string], { start: number; end: number }>;
    deleteCovered: Database.Statement<[string]>;
    insertCovered: Database.Statement<[string, number, number]>;
    read: Database.Statement<[string, number, number], BarCells>;
    upsert: Database.Statement<
      [string, number, number, number, number, number, number, number | null, number | null]
    >;
  };

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.q = {
      covered: this.db.prepare(SQL_COVERED),
      allCovered: this.db.prepare(SQL_ALL_COVERED),
      deleteCovered: this.db.prepare(SQL_DELETE_COVERED),
      insertCovered: this.db.prepare(SQL_INSERT_COVERED),
      // Rows as arrays: a backtest reads millions, and a keyed row object per bar (only to copy it) halves the speed.
      read: this.db.prepare<[string, number, number], BarCells>(SQL_READ).raw(true),
      upsert: this.db.prepare(SQL_UPSERT),
    };
  }

  covered(symbol: string, start: number, end: number): Range[] {
    return this.q.covered.all(symbol, start, end).map((r) => [r.start, r.end] as const);
  }

  read(symbol: string, start: number, end: number): Bar[] {
    return this.q.read.all(symbol, start, end).map(([t, o, h, l, c, v, n, vw]) => ({
      t,
      o,
      h,
      l,
      c,
      v,
      n: n ?? undefined,
      vw: vw ?? undefined,
    }));
  }

  write(symbol: string, start: number, end: number, bars: readonly Bar[]): void {
    this.db.transaction(() => {
      for (const b of bars)
        if (b.t >= start && b.t < end)
          this.q.upsert.run(symbol, b.t, b.o, b.h, b.l, b.c, b.v, b.n ?? null, b.vw ?? null);
      // Keep the covered ranges merged, so a lookup reads a handful of rows, not one per fetch.
      const ranges = mergeRanges([
        ...this.q.allCovered.all(symbol).map((r) => [r.start, r.end] as const),
        [start, end],
      ]);
      this.q.deleteCovered.run(symbol);
      for (const [a, b] of ranges) this.q.insertCovered.run(symbol, a, b);
    })();
  }

  close(): void {
    this.db.close();
  }
}
