/** node:crypto behind the transparency-log core's injected hashing (shared/src/tlog stays browser-safe). */
import { createPublicKey, verify } from 'node:crypto';
import type { Ed25519Verify, Sha256 } from '@catalyst-signal/shared';
import { sha256Digest } from '../sha256.js';

/** A plain Uint8Array (not a Buffer) over the digest's own bytes: no copy. */
export const sha256: Sha256 = (data) => {
  const b = sha256Digest(data);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/** Raw 32-byte Ed25519 public key verification; false (never a throw) for a key node refuses. */
export const ed25519Verify: Ed25519Verify = (pub, msg, sig) => {
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') },
      format: 'jwk',
    });
    return verify(null, msg, key, sig);
  } catch {
    return false;
  }
};
