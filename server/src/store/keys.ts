import type { Scope } from '@catalyst-signal/shared';
import type { Db } from './db.js';

const SQL = {
  insert: `INSERT INTO api_keys (id, name, scopes, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
  all: `SELECT * FROM api_keys ORDER BY created_at, id`,
  byId: `SELECT * FROM api_keys WHERE id = ?`,
  activeByName: `SELECT * FROM api_keys WHERE name = ? AND revoked_at IS NULL`,
  revoke: `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
  expire: `UPDATE api_keys SET expires_at = ? WHERE id = ? AND revoked_at IS NULL`,
  touch: `UPDATE api_keys SET last_used_at = ? WHERE id = ?`,
  version: `SELECT value FROM meta WHERE key = 'keys_version'`,
  bump: `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version'`,
} as const;

export interface KeyRow {
  id: string;
  name: string;
  scopes: Scope[];
  hash: Buffer;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

interface RawKeyRow extends Omit<KeyRow, 'scopes'> {
  scopes: string;
}

const toRow = (r: RawKeyRow): KeyRow => ({ ...r, scopes: r.scopes.split(' ') as Scope[] });

/**
 * API key records. Only the SHA-256 of each secret is stored. Every change bumps `keys_version` in the same
 * transaction, so a running server (polling that one value) notices a CLI's revoke within its poll interval.
 */
export class KeyStore {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      insert: db.prepare(SQL.insert),
      all: db.prepare(SQL.all),
      byId: db.prepare(SQL.byId),
      activeByName: db.prepare(SQL.activeByName),
      revoke: db.prepare(SQL.revoke),
      expire: db.prepare(SQL.expire),
      touch: db.prepare(SQL.touch),
      version: db.prepare(SQL.version).pluck(),
      bump: db.prepare(SQL.bump),
    };
  }

  insert(id: string, name: string, scopes: Scope[], hash: Buffer, now = new Date()): void {
    this.db.transaction(() => {
      this.stmt.insert.run(id, name, scopes.join(' '), hash, now.toISOString());
      this.stmt.bump.run();
    })();
  }

  list(): KeyRow[] {
    return (this.stmt.all.all() as RawKeyRow[]).map(toRow);
  }

  get(id: string): KeyRow | undefined {
    const r = this.stmt.byId.get(id) as RawKeyRow | undefined;
    return r && toRow(r);
  }

  /** Active keys called `name`. */
  activeByName(name: string): KeyRow[] {
    return (this.stmt.activeByName.all(name) as RawKeyRow[]).map(toRow);
  }

  /**
   * Revoke unless `refuse` says no, deciding on the key table as it is inside the write transaction, so two
   * revocations at once (the CLI and the REST API) cannot both pass a check made before either wrote.
   */
  revokeUnless(
    id: string,
    refuse: (all: KeyRow[]) => boolean,
    now = new Date(),
  ): 'revoked' | 'absent' | 'refused' {
    return this.db
      .transaction(() => {
        if (refuse(this.list())) return 'refused' as const;
        const changed = this.stmt.revoke.run(now.toISOString(), id).changes > 0;
        if (changed) this.stmt.bump.run();
        return changed ? ('revoked' as const) : ('absent' as const);
      })
      .immediate();
  }

  revoke(id: string, now = new Date()): boolean {
    return this.db.transaction(() => {
      const changed = this.stmt.revoke.run(now.toISOString(), id).changes > 0;
      if (changed) this.stmt.bump.run();
      return changed;
    })();
  }

  /** Let a key live until `at`, then it stops authenticating (key rotation's grace period). */
  expireAt(id: string, at: Date): boolean {
    return this.db.transaction(() => {
      const changed = this.stmt.expire.run(at.toISOString(), id).changes > 0;
      if (changed) this.stmt.bump.run();
      return changed;
    })();
  }

  /** Record use; called in batches by the server, not per request. */
  touch(ids: Iterable<string>, now = new Date()): void {
    const at = now.toISOString();
    this.db.transaction(() => {
      for (const id of ids) this.stmt.touch.run(at, id);
    })();
  }

  version(): string {
    return this.stmt.version.get() as string;
  }
}
