import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { DB_FILE, getMeta } from '../store/db.js';
import { lockDataDir } from '../store/lock.js';
import { CLUSTER_EPOCH_KEY } from '../store/replica.js';
import { openExistingDb, requireDataDir } from './data-dir.js';

/**
 * Recovery of a gateway whose replica diverged (another cluster epoch, a fork, ahead of the cluster): move
 * the replica's database aside, kept for inspection, so the next start bootstraps a new replica from the
 * cluster stream (and mirrors the API keys from the cluster again). Only a gateway replica: a single-node
 * store is the only copy of its log and is never moved by this command. The gateway must be stopped (the
 * data directory's lock is taken, as serve takes it).
 */
export function replicaReset(o: { dataDir: string }, now = new Date()): string {
  const dir = requireDataDir(o.dataDir);
  const lock = lockDataDir(dir);
  try {
    const db = openExistingDb(dir);
    let epoch: string | undefined;
    let head: string | undefined;
    try {
      epoch = getMeta(db, CLUSTER_EPOCH_KEY);
      head = getMeta(db, 'head_seq');
    } finally {
      db.close();
    }
    if (epoch === undefined)
      throw new UsageError(
        `${dir} holds a single-node signal log, not a gateway replica: refusing to move it (it is the only copy of that log)`,
      );
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    const moved = `${DB_FILE}.diverged-${stamp}`;
    // The WAL and shared-memory files follow the database's name, so the moved copy opens as it was.
    for (const suffix of ['', '-wal', '-shm']) {
      const from = path.join(dir, DB_FILE + suffix);
      if (existsSync(from)) renameSync(from, path.join(dir, moved + suffix));
    }
    return (
      `moved the replica (cluster epoch ${epoch}, head ${head ?? '?'}) to ${path.join(dir, moved)}; ` +
      `start the gateway again: it bootstraps a new replica from the cluster stream`
    );
  } finally {
    lock.release();
  }
}
