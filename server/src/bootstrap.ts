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
 * First start: a store with no admin key gets an admin, a publish and a read key, returned so the caller
 * can print them once. Later starts return nothing.
 */
export function ensureInitialKeys(keys: KeyStore): IssuedKey[] {
  if (keys.countActiveAdmins() > 0) return [];
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
