/** node:crypto behind the transparency-log core's injected hashing (shared/src/tlog stays browser-safe). */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Ed25519Verify, Sha256 } from '@catalyst-signal/shared';

export const sha256: Sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());

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
