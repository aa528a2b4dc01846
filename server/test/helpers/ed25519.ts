import { createPublicKey, verify } from 'node:crypto';

/** Ed25519 verification for the transparency-log tests' note verifiers (node:crypto, raw 32-byte public key). */
export const ed25519Verify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
  verify(
    null,
    msg,
    createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') },
      format: 'jwk',
    }),
    sig,
  );
