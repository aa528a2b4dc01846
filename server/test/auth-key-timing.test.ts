import { describe, expect, it, vi } from 'vitest';
import * as apiKeys from '../src/auth/api-keys.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { openDb } from '../src/store/db.js';
import { KeyStore } from '../src/store/keys.js';
import { tempDir } from './helpers/server.js';

// Count the real hash-and-compare calls (the function itself still runs).
vi.mock('../src/auth/api-keys.js', async (original) => {
  const real = await original<typeof apiKeys>();
  return { ...real, secretMatches: vi.fn(real.secretMatches) };
});

/**
 * A key id is public, but whether one EXISTS must not show in how long a wrong key takes to refuse: an unknown
 * id and a known id with a wrong secret do the same work (the same store reads, one hash and one constant-time
 * compare). Asserted structurally, by counting, not by timing (server/bench/auth-timing.ts measures it).
 */
describe('API key check: an unknown id costs what a known one does', () => {
  it('performs the same store reads and the same hash+compare for both', () => {
    const db = openDb(tempDir());
    const store = new KeyStore(db);
    const known = apiKeys.createApiKey(store, 'reader', ['read']);
    const calls: string[] = [];
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls.push(String(prop));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    // A clock that moves on every read, so each check is in a new millisecond and reads the version.
    let t = 0;
    const auth = new Authenticator(counted, undefined, () => ++t);
    const secret = 'B'.repeat(43);
    const matches = vi.mocked(apiKeys.secretMatches);

    const work = (token: string) => {
      calls.length = 0;
      matches.mockClear();
      expect(auth.authenticateKey(token).ok).toBe(false);
      return { store: [...calls], hashes: matches.mock.calls.length };
    };
    const wrongSecret = work(`cat_${known.id}_${secret}`);
    const unknownId = work(`cat_${'f'.repeat(12)}_${secret}`);
    expect(unknownId).toEqual(wrongSecret);
    expect(wrongSecret.hashes).toBe(1);
    db.close();
  });
});

/** A store whose `version()` reads are counted (the reads themselves are real SQLite). */
function countingStore(store: KeyStore): { store: KeyStore; versionReads: () => number } {
  let reads = 0;
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'version' || typeof v !== 'function') return v;
      return () => {
        reads++;
        return (v as () => string).apply(target);
      };
    },
  });
  return { store: counted, versionReads: () => reads };
}

describe('API key check: the key table version is read at most once per millisecond', () => {
  it('reads it once for many keys in one millisecond, and sees a new or revoked key in the next', () => {
    const db = openDb(tempDir());
    const real = new KeyStore(db);
    const a = apiKeys.createApiKey(real, 'a', ['publish']);
    const { store, versionReads } = countingStore(real);
    let now = 1_000;
    const auth = new Authenticator(store, undefined, () => now);
    const before = versionReads();
    for (let i = 0; i < 50; i++) expect(auth.authenticateKey(a.key).ok).toBe(true);
    expect(versionReads() - before).toBe(1);

    // Created and revoked behind the server's back (the CLI): unseen within this millisecond...
    const b = apiKeys.createApiKey(real, 'b', ['publish']);
    real.revoke(a.id);
    expect(auth.authenticateKey(b.key).ok).toBe(false);
    // ...seen by the first request of the next.
    now += 1;
    expect(auth.authenticateKey(b.key).ok).toBe(true);
    expect(auth.authenticateKey(a.key)).toEqual({ ok: false, reason: 'key revoked' });
    expect(versionReads() - before).toBe(2);
    db.close();
  });
});
