import type { Scope } from '@catalyst-signal/shared';
import { SCOPES } from '@catalyst-signal/shared';
import { createApiKey, resolveKey } from '../auth/api-keys.js';
import { LAST_ADMIN_MESSAGE, wouldRevokeLastAdmin } from '../auth/last-admin.js';
import { UsageError } from '../errors.js';
import { createSigner } from '../signing.js';
import { loadExistingSigningKey, openExistingDb } from './data-dir.js';
import { KeyStore } from '../store/keys.js';

export { UsageError };

function withKeys<T>(dataDir: string, fn: (keys: KeyStore) => T): T {
  const db = openExistingDb(dataDir);
  try {
    return fn(new KeyStore(db));
  } finally {
    db.close();
  }
}

export function parseScopes(values: string[]): Scope[] {
  const scopes = values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = scopes.filter((s) => !SCOPES.includes(s as Scope));
  if (bad.length || scopes.length === 0)
    throw new UsageError(
      `--scope must be one or more of ${SCOPES.join(', ')}; got ${bad.join(', ') || 'nothing'}`,
    );
  return [...new Set(scopes)] as Scope[];
}

export function keysCreate(o: { dataDir: string; name: string; scope: string[]; json?: boolean }): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.name)) throw new UsageError('--name: 1-64 letters, digits, . _ -');
  const scopes = parseScopes(o.scope);
  const k = withKeys(o.dataDir, (keys) => createApiKey(keys, o.name, scopes));
  const out = { id: k.id, name: o.name, scopes, key: k.key };
  return o.json
    ? JSON.stringify(out)
    : `Created key ${k.id} (${o.name}, ${scopes.join(',')}). Shown once:\n${k.key}`;
}

/** Columns padded to their widest cell (names are up to 64 characters), two spaces apart. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** An ISO time to the second, as a person reads it in a table (`2026-12-06 09:31:20Z`). */
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

interface ListedKey {
  id: string;
  name: string;
  scopes: readonly string[];
  revoked_at: string | null;
  expires_at: string | null;
  last_used_at?: string | null;
}

/**
 * `keys list` as a table with a header. STATE is what a check would answer now (an expiry in the past is
 * `expired`); SINCE/UNTIL is when it was revoked, or when it expires.
 */
export function formatKeyTable(
  rows: readonly ListedKey[],
  o: { lastUsed: boolean },
  now = Date.now(),
): string {
  const state = (r: ListedKey) =>
    r.revoked_at
      ? 'revoked'
      : r.expires_at
        ? Date.parse(r.expires_at) <= now
          ? 'expired'
          : 'expires'
        : 'active';
  const header = ['ID', 'NAME', 'SCOPES', 'STATE', 'SINCE/UNTIL'];
  // A running server records use in batches every 10 s: the time written is when it noticed, at most 10 s
  // after the use (and only uses seen by a server that wrote them; a CLI on a stopped server sees none).
  if (o.lastUsed) header.push('LAST USED (±10 s)');
  return textTable(
    header,
    rows.map((r) => [
      r.id,
      r.name,
      r.scopes.join(','),
      state(r),
      when(r.revoked_at ?? r.expires_at),
      ...(o.lastUsed ? [r.last_used_at ? when(r.last_used_at) : 'never'] : []),
    ]),
  );
}

export function keysList(o: { dataDir: string; json?: boolean }): string {
  const rows = withKeys(o.dataDir, (keys) => keys.list()).map(({ hash: _h, ...r }) => r);
  if (o.json) return JSON.stringify(rows, null, 2);
  if (!rows.length) return 'no keys';
  return formatKeyTable(rows, { lastUsed: true });
}

export function keysRevoke(o: { dataDir: string; key: string }): string {
  return withKeys(o.dataDir, (keys) => {
    const row = resolveKey(keys, o.key);
    if (typeof row === 'string') throw new UsageError(row);
    if (row.revoked_at) return `key ${row.id} (${row.name}) was already revoked at ${row.revoked_at}`;
    if (keys.revokeUnless(row.id, (all) => wouldRevokeLastAdmin(all, row.id)) === 'refused')
      throw new UsageError(LAST_ADMIN_MESSAGE(row.id, row.name));
    return `revoked key ${row.id} (${row.name}); a running server closes its sockets within a second`;
  });
}

/** Parse 90s, 15m, 24h, 7d. */
export function parseDuration(s: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(s.trim());
  if (!m) throw new UsageError(`bad duration ${s} (use e.g. 30m, 24h, 7d)`);
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function keysRotate(o: { dataDir: string; key: string; grace: string; json?: boolean }): string {
  const graceMs = parseDuration(o.grace);
  return withKeys(o.dataDir, (keys) => {
    const row = resolveKey(keys, o.key);
    if (typeof row === 'string') throw new UsageError(row);
    if (row.revoked_at) throw new UsageError(`key ${row.id} is revoked; create a new one instead`);
    const fresh = createApiKey(keys, row.name, row.scopes);
    const until = new Date(Date.now() + graceMs);
    keys.expireAt(row.id, until);
    const out = {
      id: fresh.id,
      name: row.name,
      scopes: row.scopes,
      key: fresh.key,
      old_id: row.id,
      old_valid_until: until.toISOString(),
    };
    return o.json
      ? JSON.stringify(out)
      : `New key ${fresh.id} (${row.name}, ${row.scopes.join(',')}). Shown once:\n${fresh.key}\nOld key ${row.id} keeps working until ${out.old_valid_until}.`;
  });
}

export async function keysSigning(o: { dataDir: string; json?: boolean }): Promise<string> {
  const signer = await createSigner(loadExistingSigningKey(o.dataDir));
  if (o.json) return JSON.stringify({ fingerprint: `SHA256:${signer.fingerprint}`, jwks: signer.jwks });
  return [
    `Signing key fingerprint: SHA256:${signer.fingerprint}`,
    `Public key (JWK): ${JSON.stringify(signer.publicJwk)}`,
    'Friends pin this fingerprint (catalyst-client check shows the one it sees).',
  ].join('\n');
}
