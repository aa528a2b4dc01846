/**
 * Measures the API-key check in-process: an unknown id vs a known id with a wrong secret (and the right key),
 * interleaved in rounds so drift on a shared machine hits every case alike. Run:
 *   npx tsx server/bench/auth-timing.ts [checks per case, default 200000]
 * docs/security.md quotes its figures; server/test/auth-key-timing.test.ts asserts the equal work structurally.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey } from '../src/auth/api-keys.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { openDb } from '../src/store/db.js';
import { KeyStore } from '../src/store/keys.js';

const n = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'auth-timing-'));
const db = openDb(dir);
try {
  const store = new KeyStore(db);
  const known = createApiKey(store, 'reader', ['read']);
  for (let i = 0; i < 50; i++) createApiKey(store, `k${i}`, ['read']);
  const auth = new Authenticator(store, undefined);
  const secret = 'B'.repeat(43);
  const cases = {
    'unknown id': `cat_${'f'.repeat(12)}_${secret}`,
    'known id, wrong secret': `cat_${known.id}_${secret}`,
    'right key': known.key,
  };
  const total: Record<string, bigint> = {};
  const rounds = 20;
  for (let r = 0; r < rounds; r++) {
    for (const [name, token] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n / rounds; i++) auth.authenticateKey(token);
      total[name] = (total[name] ?? 0n) + (process.hrtime.bigint() - t0);
    }
  }
  for (const [name, ns] of Object.entries(total))
    process.stdout.write(`${name.padEnd(24)} ${(Number(ns) / n / 1000).toFixed(2)} µs per check\n`);
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
