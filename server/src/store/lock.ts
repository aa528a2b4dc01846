import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export const LOCK_FILE = 'server.lock';
export const PID_FILE = 'server.pid';

/** Another live process serves this data directory. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `data directory ${dir} is in use by another catalyst-server (${pid ? `pid ${pid}` : 'pid unknown'}); stop it first, or give this one another --data-dir`,
    );
  }
}

export interface DataDirLock {
  /** Release the lock (closing the connection drops it). Safe to call twice. */
  release(): void;
}

const readPid = (dir: string): number | undefined => {
  try {
    const n = Number(readFileSync(path.join(dir, PID_FILE), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
};

/**
 * One server per data directory, for the server's whole lifetime. The lock is a kernel file lock (POSIX
 * fcntl), taken through SQLite: a connection to `server.lock` in EXCLUSIVE locking mode that has written once
 * keeps its exclusive lock until it is closed, and any other connection, in this process or another, gets
 * SQLITE_BUSY at once (busy_timeout 0). Unlike a pid file created with O_EXCL, nothing can go stale: the
 * kernel drops the lock when the process dies (also on SIGKILL), and a recycled pid cannot hold it. The pid
 * file beside it is only for the message; it is written after the lock is held.
 *
 * Offline commands (keys, db prune/backup/check, stats) do not take this lock: they go through SQLite's own
 * locking on catalyst.db (WAL, busy_timeout) and are safe while the server runs.
 */
export function lockDataDir(dir: string): DataDirLock {
  const db = new Database(path.join(dir, LOCK_FILE));
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
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dir, readPid(dir));
    throw err;
  }
  writeFileSync(path.join(dir, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (readPid(dir) === process.pid) unlinkSync(path.join(dir, PID_FILE));
      } catch {
        /* already gone */
      }
      db.close();
    },
  };
}
