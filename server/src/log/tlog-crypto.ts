/** node:crypto behind the transparency-log core's injected hashing (shared/src/tlog stays browser-safe). */
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Ed25519Verify, Sha256 } from '@catalyst-signal/shared';

export const sha256: Sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());

/** Ed25519 over a raw 32-byte public key (a cluster node checking the notes its lease holder published). */
export const ed25519Verify: Ed25519Verify = (pub, msg, sig) =>
  verify(
    null,
    msg,
    createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') },
      format: 'jwk',
    }),
    sig,
  );
