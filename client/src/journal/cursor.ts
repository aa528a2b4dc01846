import { randomBytes } from 'node:crypto';
import { prepareAll, type Db } from './db.js';

/**
 * The `meta` key/value table: where the stream cursor, the installation salt, the pinned server key and the
 * operator switches (kill switch, halt) live.
 */

const SQL = {
  getMeta: 'SELECT value FROM meta WHERE key = ?',
  setMeta:
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  delMeta: 'DELETE FROM meta WHERE key = ?',
} as const;

export class MetaStore {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = prepareAll(db, SQL);
  }

  get(key: string): string | undefined {
    return (this.st.getMeta.get(key) as { value: string } | undefined)?.value;
  }
  set(key: string, value: string | undefined): void {
    if (value === undefined) this.st.delMeta.run(key);
    else this.st.setMeta.run(key, value);
  }

  cursor(): { epoch: string | undefined; seq: number } {
    return { epoch: this.get('cursor_epoch'), seq: Number(this.get('cursor_seq') ?? 0) };
  }

  /** Caller holds a transaction when the cursor moves together with other rows. */
  moveCursor(epoch: string, seq: number): void {
    this.set('cursor_epoch', epoch);
    this.set('cursor_seq', String(seq));
  }

  setCursor(epoch: string, seq: number): void {
    this.db.transaction(() => this.moveCursor(epoch, seq))();
  }

  resetCursor(): void {
    this.db.transaction(() => {
      this.set('cursor_epoch', undefined);
      this.set('cursor_seq', undefined);
    })();
  }

  /** Per-installation random salt of clientOrderIds: two installations never collide on one account. */
  installSalt(): string {
    let salt = this.get('install_salt');
    if (!salt) {
      salt = randomBytes(6)
        .toString('base64url')
        .replace(/[^A-Za-z0-9]/g, 'x')
        .slice(0, 8);
      this.set('install_salt', salt);
    }
    return salt;
  }

  pinnedKey(): { fingerprint: string; jwk: Record<string, unknown> } | undefined {
    const fp = this.get('pinned_fingerprint');
    const jwk = this.get('pinned_jwk');
    return fp && jwk ? { fingerprint: fp, jwk: JSON.parse(jwk) as Record<string, unknown> } : undefined;
  }
  pinKey(fingerprint: string, jwk: Record<string, unknown>): void {
    this.db.transaction(() => {
      this.set('pinned_fingerprint', fingerprint);
      this.set('pinned_jwk', JSON.stringify(jwk));
    })();
  }
}
