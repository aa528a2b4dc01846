import Database from 'better-sqlite3';
import { PRIVATE_FILE, ensurePrivateFile, narrow } from '../file-modes.js';
import { JournalVersionError } from '../errors.js';

/**
 * Opening the journal: pragmas and versioned migrations (like server/src/store/db.ts). `PRAGMA user_version` is
 * the schema version. Journals made before versioning (user_version 0) already hold migration 1's tables, which
 * is why migration 1 says IF NOT EXISTS: on them it is a no-op, and their rows stay as they are.
 */

export type Db = Database.Database;

/** Applied in order; index + 1 is the schema version. Never edit one that shipped: add the next. */
export const MIGRATIONS: readonly string[] = [
  // 1: the schema of the unversioned journal (client <= 38ba416), verbatim.
  `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, epoch TEXT NOT NULL, seq INTEGER NOT NULL, symbol TEXT NOT NULL,
  verdict TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,
  legs TEXT NOT NULL, signal TEXT NOT NULL, UNIQUE (epoch, seq));
CREATE TABLE IF NOT EXISTS intents (
  client_order_id TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL, leg TEXT NOT NULL,
  market TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, amount REAL NOT NULL, price REAL, ref_price REAL NOT NULL,
  status TEXT NOT NULL, exchange_order_id TEXT, filled REAL NOT NULL DEFAULT 0, avg_price REAL,
  fee_quote REAL NOT NULL DEFAULT 0, fee_base REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
  stop_loss REAL, take_profit REAL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (epoch, seq, leg));
CREATE TABLE IF NOT EXISTS positions (market TEXT PRIMARY KEY, amount REAL NOT NULL, cost REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pnl (id INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL, market TEXT NOT NULL,
  realized REAL NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gaps (id INTEGER PRIMARY KEY AUTOINCREMENT, epoch TEXT NOT NULL, from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS paper_balances (asset TEXT PRIMARY KEY, free REAL NOT NULL);
CREATE TABLE IF NOT EXISTS paper_orders (client_order_id TEXT PRIMARY KEY, body TEXT NOT NULL);
`,
  // 2: venue-specific order parameters (time in force, extended hours, bracket legs) beside each intent; symbol
  // entry blocks (`avoid` signals); indexes for the hot lookups that used to scan.
  `
ALTER TABLE intents ADD COLUMN order_params TEXT;
CREATE TABLE avoids (symbol TEXT PRIMARY KEY, until INTEGER NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX intents_status ON intents (status);
CREATE INDEX decisions_symbol ON decisions (symbol);
`,
  // 3: hold_until_open. A held (deferred) signal is decided again at the open exactly once: its second decision
  // lives here, keyed like the first, so a restart finds it decided. The decisions row stays as it was.
  `
CREATE TABLE redecisions (epoch TEXT NOT NULL, seq INTEGER NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL,
  detail TEXT, decided_at INTEGER NOT NULL, legs TEXT NOT NULL, PRIMARY KEY (epoch, seq));
CREATE INDEX decisions_reason ON decisions (reason);
`,
  // changes: the journal's change log (client/src/journal/changes.ts), appended in the transaction of each
  // decision, order intent change, kill switch flip, halt and gap. No AUTOINCREMENT: ids stay gapless.
  `
CREATE TABLE changes (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, symbol TEXT, epoch TEXT,
  seq INTEGER, data TEXT NOT NULL);
CREATE INDEX changes_signal ON changes (epoch, seq);
`,
  // (issue 21) following the broker: every order event as the broker sent it (order_events, keyed by the event's
  // idempotency key), every broker order seen and the intent it belongs to (broker_orders: legs link through their
  // parent), and the fill facts positions are derived from (fills: one row per point of an order's cumulative
  // fill). Fills already recorded on intents become facts, so positions derive from them from now on.
  `
CREATE TABLE order_events (key TEXT PRIMARY KEY, event TEXT NOT NULL, order_id TEXT NOT NULL,
  client_order_id TEXT NOT NULL, intent_id TEXT, market TEXT NOT NULL, side TEXT NOT NULL, status TEXT NOT NULL,
  filled REAL NOT NULL, avg_price REAL, execution_id TEXT, qty REAL, price REAL, at INTEGER NOT NULL,
  received_at INTEGER NOT NULL, source TEXT NOT NULL);
CREATE INDEX order_events_order ON order_events (order_id);
CREATE INDEX order_events_received ON order_events (received_at);
CREATE TABLE broker_orders (order_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, intent_id TEXT,
  parent_order_id TEXT);
CREATE INDEX broker_orders_client ON broker_orders (client_order_id);
CREATE TABLE fills (order_key TEXT NOT NULL, cum REAL NOT NULL, avg_price REAL, price REAL, market TEXT NOT NULL,
  side TEXT NOT NULL, fee_quote REAL, fee_base REAL, at INTEGER NOT NULL, PRIMARY KEY (order_key, cum));
CREATE INDEX fills_market ON fills (market);
INSERT INTO fills (order_key, cum, avg_price, price, market, side, fee_quote, fee_base, at)
  SELECT client_order_id, ROUND(filled, 9), avg_price, NULL, market, side, fee_quote, fee_base, updated_at
  FROM intents WHERE filled > 0;
`,
  // (issue 24): the latest transparency-log checkpoint this client verified, per log origin: each new one
  // must be proven consistent with it, so a rewritten history is caught across restarts.
  `
CREATE TABLE tlog_checkpoints (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, note TEXT NOT NULL,
  verified_at INTEGER NOT NULL);
`,
  // (issue 21) working orders: each replace of a resting limit, journaled BEFORE it is requested with the
  // replacement's deterministic client order id, then marked done with the broker's order id: a restart in between
  // asks the broker for that id instead of replacing again, so a step happens once and never beyond the cap.
  `
CREATE TABLE reprices (client_order_id TEXT NOT NULL, step INTEGER NOT NULL, order_id TEXT NOT NULL UNIQUE,
  price REAL NOT NULL, state TEXT NOT NULL, exchange_order_id TEXT, at INTEGER NOT NULL,
  PRIMARY KEY (client_order_id, step));
`,
  // (issue 21) position incidents: a difference between this client's positions and the broker's that the journal
  // cannot explain (issue 21 reconciliation). Entries and exits in the symbol wait until the friend acknowledges.
  `
CREATE TABLE incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT NOT NULL, kind TEXT NOT NULL,
  detail TEXT NOT NULL, journal_qty REAL NOT NULL, broker_qty REAL NOT NULL, created_at INTEGER NOT NULL,
  acked_at INTEGER);
CREATE INDEX incidents_open ON incidents (symbol) WHERE acked_at IS NULL;
`,
  // (issue 22) the US market session each decision met (pre / regular / after / closed; null on crypto), for the
  // dashboard's P&L by session: a simulated paper market clock cannot be recomputed from decided_at afterwards.
  `
ALTER TABLE decisions ADD COLUMN session TEXT;
`,
  // (issue 21) adopted positions: shares the broker held at start that the journal could not explain, taken as this
  // client's own under equities.outside_positions: adopt. Each also adds a fill fact (order key adopt:<id>), so the
  // derived position holds them and a restart finds nothing left to adopt.
  `
CREATE TABLE adoptions (id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT NOT NULL, qty REAL NOT NULL,
  avg_price REAL NOT NULL, at INTEGER NOT NULL);
`,
  // (issue 22) approval mode: entries waiting for the friend's approval (client/src/journal/approvals.ts), and
  // the one-time ntfy action tokens already used (each accepted once, across restarts).
  `
CREATE TABLE approvals (epoch TEXT NOT NULL, seq INTEGER NOT NULL, decision_id INTEGER NOT NULL,
  decided_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL, acted_at INTEGER, via TEXT,
  PRIMARY KEY (epoch, seq));
CREATE TABLE approval_tokens (token TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL);
`,
  // (issue 23) the simulated broker's open orders found by an index, not a scan of every order it ever held: a
  // backtest's year holds tens of thousands, and paper mode reads the open ones on every price step.
  `
CREATE INDEX IF NOT EXISTS paper_orders_status ON paper_orders (json_extract(body, '$.status'));
`,
  // (issue 23) indexes for the reads of every entry decision (orders and round trips since the day or week
  // began, the last entry per symbol, the day's realised P&L): without them each decision scans every intent
  // and P&L row ever written, so a backtest's year slows down as it goes.
  `
CREATE INDEX IF NOT EXISTS intents_created ON intents (created_at);
CREATE INDEX IF NOT EXISTS intents_market_side ON intents (market, side, created_at);
CREATE INDEX IF NOT EXISTS intents_entries ON intents (leg, created_at, market, status);
CREATE INDEX IF NOT EXISTS pnl_at ON pnl (at);
`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export { JournalVersionError };

/** Open (creating) a journal file and bring its schema up to date in one transaction. */
export function openDb(path: string): Db {
  const onDisk = path !== ':memory:' && path !== '';
  if (onDisk) ensurePrivateFile(path); // 0600 before SQLite creates it (its -wal and -shm take its mode)
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // A journal made 0644 by an older client may have its -wal/-shm already: narrow them too.
  if (onDisk) for (const f of [`${path}-wal`, `${path}-shm`]) narrow(f, PRIVATE_FILE);
  // FULL: a committed decision/intent survives power loss, not just a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > MIGRATIONS.length) {
    db.close();
    throw new JournalVersionError(
      `journal schema ${from} is newer than this client (${MIGRATIONS.length}); upgrade catalyst-client`,
    );
  }
  db.transaction(() => {
    for (let v = from; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
  return { from, to: MIGRATIONS.length };
}

/** Prepare a table of named SQL constants once: statements keep the names of the SQL beside them. */
export function prepareAll<K extends string>(db: Db, sql: Record<K, string>): Record<K, Database.Statement> {
  return Object.fromEntries(Object.entries(sql).map(([k, v]) => [k, db.prepare(v as string)])) as Record<
    K,
    Database.Statement
  >;
}
