import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;
export type SyncMode = 'normal' | 'full';

export const DB_FILE = 'catalyst.db';

/**
 * Schema migrations, applied in order; the index + 1 is the schema version. Never edit one that shipped. SQL, or
 * a function where rows must be rewritten in a way SQL cannot say.
 */
const MIGRATIONS: (string | ((db: Db) => void))[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE signals (
    seq INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    catalyst TEXT NOT NULL,
    direction TEXT NOT NULL,
    confidence REAL NOT NULL,
    ingested_ms INTEGER NOT NULL,
    body TEXT NOT NULL
  ) STRICT;
  CREATE INDEX signals_symbol_seq ON signals (symbol, seq);
  CREATE INDEX signals_ingested ON signals (ingested_ms);
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT,
    expires_at TEXT
  ) STRICT;
  CREATE INDEX api_keys_name ON api_keys (name);
  `,
  // 2: signal v2 (#11). Columns the filters look at; bodies are never rewritten. `action` holds the
  // EFFECTIVE action (shared effectiveAction): for the v1 rows already stored that is enter for long/short
  // and info for neutral, set here once. `keywords` is ",a,b," so one instr() finds a whole keyword.
  // A signal without direction stores '' in the v1 NOT NULL `direction` column.
  `
  ALTER TABLE signals ADD COLUMN action TEXT NOT NULL DEFAULT 'info';
  UPDATE signals SET action = 'enter' WHERE direction IN ('long', 'short');
  ALTER TABLE signals ADD COLUMN asset_class TEXT;
  ALTER TABLE signals ADD COLUMN sentiment REAL;
  ALTER TABLE signals ADD COLUMN keywords TEXT;
  `,
  // 3: the transparency log (#24, docs/transparency-log.md). The hash of every complete aligned subtree
  // (level 0 = leaf hashes), written with the signals they cover and kept when signals are pruned; and every
  // checkpoint signed, so a restarted server proves its next one consistent with the last. IF NOT EXISTS: a
  // test rewinds user_version to 1 on a newer file.
  `
  CREATE TABLE IF NOT EXISTS tlog_hashes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS tlog_checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    signed_ms INTEGER NOT NULL
  ) STRICT;
  `,
  // The transparency log's witnesses (#24, docs/transparency-log.md "Witnesses"): one cosignature line per
  // (witness vkey, checkpoint size), kept only after it verified against a configured witness key.
  `
  CREATE TABLE IF NOT EXISTS tlog_cosignatures (
    witness TEXT NOT NULL,
    size INTEGER NOT NULL,
    line TEXT NOT NULL,
    cosigned_s INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
  ) STRICT, WITHOUT ROWID;
  `,
  // 5: the tree's hashes, one row per leaf (store/tree.ts): the hashes each leaf's append completed, levels
  // 0, 1, ... concatenated, instead of one row per hash. Rewritten from tlog_hashes, which is then dropped.
  treeRowPerLeaf,
];

/** Migration 5: tlog_hashes (level, idx) rows into tlog_leaves rows (tree.ts `completingLeaf`). */
function treeRowPerLeaf(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS tlog_leaves (idx INTEGER PRIMARY KEY, hashes BLOB NOT NULL) STRICT');
  const old = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tlog_hashes'").get();
  if (!old) return;
  const get = db.prepare('SELECT hash FROM tlog_hashes WHERE level = ? AND idx = ?').pluck();
  const put = db.prepare('INSERT OR REPLACE INTO tlog_leaves (idx, hashes) VALUES (?, ?)');
  const size = db.prepare('SELECT coalesce(max(idx) + 1, 0) FROM tlog_hashes WHERE level = 0').pluck().get();
  for (let i = 0; i < Number(size); i++) {
    const row: Buffer[] = [];
    // Leaf i completed level L when 2^L divides i + 1: the subtree (L, (i + 1) / 2^L - 1).
    for (let level = 0; (i + 1) % 2 ** level === 0; level++) {
      const h = get.get(level, (i + 1) / 2 ** level - 1) as Buffer | undefined;
      if (!h) break; // never written: read() says so, as it did
      row.push(h);
    }
    put.run(i, Buffer.concat(row));
  }
  db.exec('DROP TABLE tlog_hashes');
}

export interface OpenOptions {
  sync?: SyncMode;
  /** SQLite busy_timeout: how long a statement waits for another connection's lock (default 2000 ms). */
  busyTimeoutMs?: number;
  readonly?: boolean;
  /** The caller checkpoints the WAL itself (startCheckpointer); no auto-checkpoint on this connection. */
  externalCheckpoints?: boolean;
  /** Refuse (SQLITE_CANTOPEN) rather than create: for every command but init and serve. */
  mustExist?: boolean;
}

/** Open (creating if needed, unless mustExist) the database in dataDir, apply pragmas and migrations. */
export function openDb(dataDir: string, options: OpenOptions = {}): Db {
  if (!options.mustExist) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(dataDir, DB_FILE), {
    readonly: options.readonly ?? false,
    fileMustExist: options.mustExist ?? false,
  });
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 2000)}`);
  if (options.readonly) return db;
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  if (options.externalCheckpoints) db.pragma('wal_autocheckpoint = 0');
  migrate(db);
  return db;
}

/** Back to SQLite's own checkpoints (every 1000 WAL pages, on the committing thread): the checkpointer died. */
export function restoreAutoCheckpoint(db: Db): void {
  if (db.open) db.pragma('wal_autocheckpoint = 1000');
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(
      `database schema ${version} is newer than this server (${MIGRATIONS.length}); upgrade the server`,
    );
  }
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) {
      const m = MIGRATIONS[v]!;
      if (typeof m === 'string') db.exec(m);
      else m(db);
    }
    const insert = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
    insert.run('epoch', randomBytes(8).toString('hex'));
    insert.run('head_seq', '0');
    insert.run('keys_version', '0');
    insert.run('created_at', new Date().toISOString());
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

/** Bytes on disk of the database and its WAL. */
export function dbSizeBytes(dataDir: string): number {
  let n = 0;
  for (const f of [DB_FILE, `${DB_FILE}-wal`]) {
    try {
      n += statSync(path.join(dataDir, f)).size;
    } catch {
      /* the WAL may not exist yet */
    }
  }
  return n;
}
