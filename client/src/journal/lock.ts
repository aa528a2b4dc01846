import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../file-modes.js';

/** Beside the journal: the lock `run` holds, and the pid file that only serves the message. */
export const RUN_LOCK_FILE = 'run.lock';
export const RUN_PID_FILE = 'run.pid';

/** Another live `run` holds this journal. */
export class JournalLockedError extends Error {
  override name = 'JournalLockedError';
  readonly code = 'journal_locked';
  constructor(
    readonly journalPath: string,
    readonly pid: number | undefined,
  ) {
    super(
      `refused to start: journal ${journalPath} is in use by another catalyst-client run (${pid ? `pid ${pid}` : 'pid unknown'}); stop that one first, or give this one its own data_dir`,
    );
  }
}

export interface JournalLock {
  /** Release the lock (closing the connection drops it). Safe to call twice. */
  release(): void;
}

const readPid = (file: string): number | undefined => {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
};

/**
 * One `run` per journal, for its whole lifetime: two runners would both decide the same seq (one dies on the
 * UNIQUE (epoch, seq) constraint, which one is random) and both act on a pending intent, since the
 * send/reconcile lock lives in one process. The lock is a kernel file lock (POSIX fcntl) taken through
 * SQLite, as the server locks its data dir: a connection to `run.lock` in EXCLUSIVE locking mode that has
 * written once keeps its lock until it is closed, and any other connection, in this process or another,
 * gets SQLITE_BUSY at once. Nothing can go stale: the kernel drops the lock when the process dies (SIGKILL
 * too), and a recycled pid cannot hold it. The pid file is written after the lock is held, for the message.
 *
 * Only `run` takes it. status, history, dashboard, pause, resume, pin and replay go through SQLite's own
 * locking on journal.sqlite (WAL, busy_timeout): each is one short transaction, safe beside a running `run`.
 */
export function lockJournal(journalPath: string): JournalLock {
  const dir = dirname(journalPath);
  const pidFile = join(dir, RUN_PID_FILE);
  ensurePrivateFile(join(dir, RUN_LOCK_FILE));
  const db = new Database(join(dir, RUN_LOCK_FILE));
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec(`BEGIN EXCLUSIVE;
      CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL, since TEXT NOT NULL);
      DELETE FROM owner;
      INSERT INTO owner VALUES (${process.pid}, '${new Date().toISOString()}');
      COMMIT;`);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY')
      throw new JournalLockedError(journalPath, readPid(pidFile));
    throw err;
  }
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (readPid(pidFile) === process.pid) unlinkSync(pidFile);
      } catch {
        /* already gone */
      }
      db.close();
    },
  };
}
