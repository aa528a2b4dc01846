import type { Scope } from '@catalyst-signal/shared';
import { createApiKey } from './auth/api-keys.js';
import type { KeyStore } from './store/keys.js';

export interface IssuedKey {
  id: string;
  name: string;
  scopes: Scope[];
  key: string;
}

/**
 * The keys of a data directory's first start: an admin, a publish and a read key, returned so the caller can
 * print them once. Called only by the start that created the database (serve, init): a key table without an
 * admin (every admin revoked, or all expired) never gets fresh keys printed, under systemd into the journal.
 */
export function createInitialKeys(keys: KeyStore): IssuedKey[] {
  const wanted: [string, Scope[]][] = [
    ['admin', ['admin']],
    ['publisher', ['publish']],
    ['reader', ['read']],
  ];
  return wanted.map(([name, scopes]) => ({ ...createApiKey(keys, name, scopes), name, scopes }));
}

export function formatIssuedKeys(issued: IssuedKey[]): string {
  const lines = issued.map((k) => `  ${k.name.padEnd(10)} ${k.scopes.join(',').padEnd(8)} ${k.key}`);
  return [
    'Created API keys (shown once; only their hashes are stored):',
    ...lines,
    'Give the read key to a friend, the publish key to Catalyst-Bot; keep the admin key.',
  ].join('\n');
}
