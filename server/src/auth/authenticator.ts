import { API_KEY_PREFIX, type Scope } from '@catalyst-signal/shared';
import type { KeyRow, KeyStore } from '../store/keys.js';
import { parseApiKey, secretMatches } from './api-keys.js';
import type { JwtVerifier } from './jwt.js';

/** Who is calling: an API key or a JWT subject, and what it may do. */
export interface Principal {
  kind: 'key' | 'jwt';
  /** Key id, or `jwt:<sub>`; connection limits and revocation are per id. */
  id: string;
  name: string;
  scopes: readonly Scope[];
  /** ms since epoch after which the credential is no longer valid (JWT exp, rotated key grace). */
  expiresAt: number | undefined;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Token -> Principal. API keys are served from an in-memory copy of the key table (reloaded when its
 * version changes): the hot path reads that one version value (at most once per millisecond of `now`), then
 * does one SHA-256 and one constant-time compare, whether or not the id exists, so timing does not tell
 * which ids do.
 */
export class Authenticator {
  private cache = new Map<string, KeyRow>();
  private version = '';
  /** The `now()` of the last hot-path version check; NaN so the first request checks. */
  private checkedAt = Number.NaN;
  private used = new Set<string>();

  constructor(
    private readonly keys: KeyStore,
    private readonly jwt: JwtVerifier | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.reload();
  }

  /** Reload if the key table changed; returns true when it did. Called on a timer. */
  refresh(): boolean {
    const version = this.keys.version();
    if (version === this.version) return false;
    this.reload(version);
    return true;
  }

  /** `version` is read before the list, so a change between the two reloads again at the next check. */
  private reload(version = this.keys.version()): void {
    this.version = version;
    this.cache = new Map(this.keys.list().map((r) => [r.id, r]));
  }

  /** Is this principal still allowed (not revoked, not expired)? Used to close live sockets. */
  stillValid(p: Principal): boolean {
    if (p.expiresAt !== undefined && p.expiresAt <= this.now()) return false;
    if (p.kind === 'jwt') return true;
    const row = this.cache.get(p.id);
    return row !== undefined && row.revoked_at === null && !this.expired(row);
  }

  private expired(row: KeyRow): boolean {
    return row.expires_at !== null && Date.parse(row.expires_at) <= this.now();
  }

  async authenticate(token: string): Promise<AuthResult> {
    if (token.startsWith(API_KEY_PREFIX)) return this.authenticateKey(token);
    if (!this.jwt) return { ok: false, reason: 'unknown credential format' };
    try {
      const p = await this.jwt(token);
      return {
        ok: true,
        principal: {
          kind: 'jwt',
          id: `jwt:${p.subject}`,
          name: p.subject,
          scopes: p.scopes,
          expiresAt: p.expiresAt,
        },
      };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  /** Synchronous API-key check (no JWT), for the ingest hot path. */
  authenticateKey(token: string): AuthResult {
    const parsed = parseApiKey(token);
    if (!parsed) return { ok: false, reason: 'malformed key' };
    // A version check for every key, known id or not, so an unknown id costs exactly what a known one does
    // (checking only on a miss made unknown ids 2.5x slower). But at most one per millisecond: that SQLite
    // read was 4.5 % of the server's CPU at full ingest, and a key created or revoked by the CLI is still
    // seen by the first request in the next millisecond (the admin API's own changes call refresh() at once).
    const t = this.now();
    if (t !== this.checkedAt) {
      this.checkedAt = t;
      this.refresh();
    }
    const row = this.cache.get(parsed.id);
    // Hash and compare even for an unknown id (against a dummy hash), for the same reason.
    const matches = secretMatches(parsed.secret, row ?? DUMMY);
    if (!row || !matches) return { ok: false, reason: 'unknown key' };
    if (row.revoked_at !== null) return { ok: false, reason: 'key revoked' };
    if (this.expired(row)) return { ok: false, reason: 'key expired' };
    this.used.add(row.id);
    return {
      ok: true,
      principal: {
        kind: 'key',
        id: row.id,
        name: row.name,
        scopes: row.scopes,
        expiresAt: row.expires_at ? Date.parse(row.expires_at) : undefined,
      },
    };
  }

  /** Key ids used since the last call (for batched last_used_at updates). */
  drainUsed(): string[] {
    const ids = [...this.used];
    this.used.clear();
    return ids;
  }
}

const DUMMY = { hash: Buffer.alloc(32) };

/** Admin holds every scope. */
export function hasScope(p: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return p.scopes.includes(scope) || p.scopes.includes('admin');
}

/** The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 9110). */
export function bearerToken(header: string): string | undefined {
  const m = /^bearer +(\S+)\s*$/i.exec(header);
  return m?.[1];
}
