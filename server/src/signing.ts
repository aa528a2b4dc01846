import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Signal } from '@catalyst-signal/shared';
import { signedPayload } from './log/leaf.js';

export const SIGNING_KEY_FILE = 'signing-key.pem';

export interface Signer {
  /** RFC 7638 thumbprint (SHA-256, base64url) of the public key; also the JWS `kid`. */
  fingerprint: string;
  publicJwk: JWK;
  jwks: { keys: JWK[] };
  sign(unsigned: Omit<Signal, 'sig'>): string;
  /** The raw 32-byte Ed25519 public key (what a C2SP verifier key carries). */
  publicKeyRaw: Uint8Array;
  /** A plain Ed25519 signature over `message`: the transparency log's checkpoints (signed notes). */
  signBytes(message: Uint8Array): Uint8Array;
}

/** Load the Ed25519 key from the data directory, creating it (mode 0600) on first start. */
export function loadOrCreateSigningKey(dataDir: string): { key: KeyObject; created: boolean } {
  const file = path.join(dataDir, SIGNING_KEY_FILE);
  if (existsSync(file)) return { key: createPrivateKey(readFileSync(file)), created: false };
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key: privateKey, created: true };
}

/**
 * Signs each signal once, at ingest, as a detached compact JWS (RFC 7515 appendix F): `<header>..<sig>`
 * over signedPayload (log/leaf.ts: the canonical JSON of the signal without sig). Uses node:crypto directly
 * (~23 µs a signature here) rather than jose's async CompactSign, which would cost a promise per signal inside
 * the commit; the output is a plain JWS that jose's compactVerify checks on the client.
 */
export async function createSigner(privateKey: KeyObject): Promise<Signer> {
  const pub = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const fingerprint = await calculateJwkThumbprint(pub, 'sha256');
  const publicJwk: JWK = { ...pub, kid: fingerprint, alg: 'EdDSA', use: 'sig' };
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: fingerprint })).toString('base64url');
  return {
    fingerprint,
    publicJwk,
    jwks: { keys: [publicJwk] },
    publicKeyRaw: new Uint8Array(Buffer.from(pub.x!, 'base64url')),
    signBytes: (message) => new Uint8Array(sign(null, message, privateKey)),
    sign(unsigned) {
      const payload = Buffer.from(signedPayload(unsigned)).toString('base64url');
      const signature = sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
      return `${header}..${signature}`;
    },
  };
}
