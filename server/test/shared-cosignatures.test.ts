import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cosign, ed25519Cosigner } from '@catalyst-signal/shared';
import { COSIGNED_SIZES } from '../src/log/mirror.js';
import { SharedCosignatures } from '../src/log/shared-cosignatures.js';
import { sha256 } from '../src/log/tlog-crypto.js';

/** Cluster cosignatures as a node holds them (log/shared-cosignatures.ts): bounded to the newest sizes. */
describe('shared cosignatures', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(
    Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url'),
  );
  const w = ed25519Cosigner(sha256, 'w.test/a', pub, (m) => new Uint8Array(sign(null, m, privateKey)));
  const line = (size: number) => cosign(w, `o\n${size}\nroot\n`, 1);

  it('keeps one line per witness and size, for the newest COSIGNED_SIZES sizes only; drops malformed lines', () => {
    const rows = new SharedCosignatures({ signedNote: () => undefined });
    expect(rows.seen(1, 'aa', line(1))).toBe(true);
    expect(rows.seen(1, 'aa', line(1))).toBe(false);
    expect(rows.seen(1, 'bb', 'not a line')).toBe(false);
    for (let s = 2; s <= COSIGNED_SIZES + 1; s++) expect(rows.seen(s, 'aa', line(s))).toBe(true);
    expect(rows.lines(1)).toEqual([]);
    expect(rows.lines(2)).toEqual([line(2)]);
    // Older than everything kept: not served (it would only push a newer size out).
    expect(rows.seen(1, 'bb', line(1))).toBe(false);
    expect(rows.lines(COSIGNED_SIZES + 1)).toEqual([line(COSIGNED_SIZES + 1)]);
  });

  it('serves only lines this node verified; a line over a note not known yet waits until it is', () => {
    const rows = new SharedCosignatures({ signedNote: () => undefined });
    const verdicts = new Map<number, boolean | undefined>([
      [1, false],
      [2, undefined],
    ]);
    rows.valid = (size) => verdicts.get(size);
    rows.seen(1, 'aa', line(1));
    rows.seen(2, 'aa', line(2));
    expect(rows.lines(1)).toEqual([]);
    expect(rows.lines(2)).toEqual([]);
    verdicts.set(2, true);
    expect(rows.lines(2)).toEqual([line(2)]);
  });

  it('a line is stored through the bucket; before it is open the put fails with a reason', async () => {
    const rows = new SharedCosignatures({ signedNote: () => undefined });
    await expect(rows.put('vkey', 1, line(1))).rejects.toThrow(/bucket is not open/);
    const created: string[] = [];
    rows.bucket = {
      create: (size, witness) =>
        Promise.resolve(!created.includes(`${size}.${witness}`) && !!created.push(`${size}.${witness}`)),
    };
    expect(await rows.put('vkey', 1, line(1))).toBe(true);
    expect(await rows.put('vkey', 1, line(1))).toBe(false);
  });
});
