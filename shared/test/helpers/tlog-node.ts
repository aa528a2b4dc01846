import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  ed25519Signer,
  ed25519Verifier,
  ed25519VerifierKey,
  type NoteSigner,
  type NoteVerifier,
  type Sha256,
} from '../../src/index.js';

/** node:crypto behind the core's injected hashing and signing (the core itself imports no node:*). */
export const sha256: Sha256 = (d) => new Uint8Array(createHash('sha256').update(d).digest());

export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
  return verify(null, message, key, signature);
}

export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
}

export interface TestKey {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  signer: NoteSigner;
  vkey: string;
  verifier: NoteVerifier;
}

/** A fresh (or given) Ed25519 key as a note signer, its vkey string and a verifier parsed from that string. */
export function noteKey(name: string, privateKey = generateKeyPairSync('ed25519').privateKey): TestKey {
  const publicKey = rawPublicKey(privateKey);
  const signer = ed25519Signer(sha256, name, publicKey, (m) => new Uint8Array(sign(null, m, privateKey)));
  const vkey = ed25519VerifierKey(sha256, name, publicKey);
  return { privateKey, publicKey, signer, vkey, verifier: ed25519Verifier(sha256, vkey, ed25519Verify) };
}

/** An Ed25519 private key from its 32-byte seed (RFC 8032 test keys). */
export function keyFromSeed(seed: Uint8Array): KeyObject {
  const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, seed]), format: 'der', type: 'pkcs8' });
}
