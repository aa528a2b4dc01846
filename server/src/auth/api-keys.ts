import { randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_PREFIX, type Scope } from '@catalyst-signal/shared';
import { sha256Digest } from '../sha256.js';
import type { KeyRow, KeyStore } from '../store/keys.js';

/**
 * Key format: `cat_<id>_<secret>`: id = 12 hex chars (public, the lookup handle), secret = 32 random bytes
 * base64url (256 bits). The secret has full entropy, so one SHA-256 is the right hash: a slow KDF protects
 * low-entropy passwords and would only cost CPU per request here.
 */
const KEY_RE = /^cat_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  id: string;
  key: string;
  hash: Buffer;
}

export function generateApiKey(): NewKey {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `${API_KEY_PREFIX}${id}_${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): Buffer {
  return sha256Digest(secret);
}

export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_RE.exec(key);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** Create and store a key; the plain key is returned once and never stored. */
export function createApiKey(store: KeyStore, name: string, scopes: Scope[]): { id: string; key: string } {
  const k = generateApiKey();
  store.insert(k.id, name, [...new Set(scopes)], k.hash);
  return { id: k.id, key: k.key };
}

/** Constant-time check of a presented secret against a stored hash (both 32 bytes). */
export function secretMatches(secret: string, row: Pick<KeyRow, 'hash'>): boolean {
  const presented = hashSecret(secret);
  return presented.length === row.hash.length && timingSafeEqual(presented, row.hash);
}

/** Resolve `ID|NAME` to exactly one active key, or say why not. */
export function resolveKey(store: KeyStore, idOrName: string): KeyRow | string {
  const byId = store.get(idOrName);
  if (byId) return byId;
  const byName = store.activeByName(idOrName);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) return `${byName.length} active keys are named ${idOrName}; give the id`;
  return `no key with id or name ${idOrName}`;
}
