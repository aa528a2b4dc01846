import type { Db } from './db.js';
import type { KeyRow } from './keys.js';

const SQL = {
  upsert: `INSERT INTO api_keys (id, name, scopes, hash, created_at, revoked_at, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, scopes = excluded.scopes, hash = excluded.hash,
             created_at = excluded.created_at, revoked_at = excluded.revoked_at, expires_at = excluded.expires_at`,
  same: `SELECT 1 FROM api_keys WHERE id = ? AND name = ? AND scopes = ? AND hash = ? AND created_at = ?
           AND revoked_at IS ? AND expires_at IS ?`,
  remove: `DELETE FROM api_keys WHERE id = ?`,
  ids: `SELECT id FROM api_keys`,
  bump: `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version'`,
} as const;

/**
 * A gateway's local key table as a mirror of the cluster's keys (KV `catalyst_keys`): the cluster is the
 * authority, this table follows it. Every change bumps `keys_version` in the same transaction, exactly as a
 * CLI revoke does in single-node mode, so the running Authenticator reloads on its next poll and the
 * stream's sweep closes a revoked key's sockets — the single-node revocation path, unchanged.
 * `last_used_at` stays local (it is not kept cluster-wide).
 */
export class KeyTableMirror {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      upsert: db.prepare(SQL.upsert),
      same: db.prepare(SQL.same).pluck(),
      remove: db.prepare(SQL.remove),
      ids: db.prepare(SQL.ids).pluck(),
      bump: db.prepare(SQL.bump),
    };
  }

  /** Insert or update one key as the cluster has it; false (and no version bump) when nothing changed. */
  upsert(r: Omit<KeyRow, 'last_used_at'>): boolean {
    const args = [
      r.id,
      r.name,
      r.scopes.join(' '),
      r.hash,
      r.created_at,
      r.revoked_at,
      r.expires_at,
    ] as const;
    return this.db.transaction(() => {
      if (this.stmt.same.get(...args)) return false;
      this.stmt.upsert.run(...args);
      this.stmt.bump.run();
      return true;
    })();
  }

  /** The cluster deleted the key: it stops authenticating here too. */
  remove(id: string): boolean {
    return this.db.transaction(() => {
      const changed = this.stmt.remove.run(id).changes > 0;
      if (changed) this.stmt.bump.run();
      return changed;
    })();
  }

  /** After the initial state: drop local keys the cluster does not have. Returns how many were dropped. */
  retainOnly(ids: ReadonlySet<string>): number {
    return this.db.transaction(() => {
      let n = 0;
      for (const id of this.stmt.ids.all() as string[])
        if (!ids.has(id)) n += this.stmt.remove.run(id).changes;
      if (n) this.stmt.bump.run();
      return n;
    })();
  }
}
