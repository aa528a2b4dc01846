import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import { shellQuote } from './recovery.js';

/**
 * The client's own files are for its user only: the journal holds positions, orders and the pinned key, and
 * `.env` holds the server and exchange keys. The data dir is created 0700 and its files 0600.
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/**
 * Create `path` empty with mode 0600 unless it exists, and narrow an existing one (older clients made 0644).
 * SQLite creates a database's -wal and -shm files with the database file's mode, so a journal made this way
 * keeps them private too.
 */
export function ensurePrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE));
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  }
  narrow(path, PRIVATE_FILE);
}

/** chmod when the group or others have any access; a file owned by someone else is left to `check`. */
export function narrow(path: string, mode: number): void {
  try {
    if (existsSync(path) && statSync(path).mode & 0o077) chmodSync(path, mode);
  } catch {
    /* not ours to change: check reports it */
  }
}

/** `check`'s warning for a file or directory open to group/others, with the command that fixes it. */
export function openToOthers(path: string, what: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const st = statSync(path);
  const mode = st.mode & 0o777;
  if (!(mode & 0o077)) return undefined;
  const want = st.isDirectory() ? '700' : '600';
  return `${what} ${path} is open to group/others (mode ${mode.toString(8).padStart(4, '0')}): chmod ${want} ${shellQuote(path)}`;
}
