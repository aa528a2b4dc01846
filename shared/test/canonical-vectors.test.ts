import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compactVerify, createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalJson, illFormedStringPath, signedPart, type Signal } from '@catalyst-signal/shared';
import { createSigner } from '../../server/src/signing.js';

/** The published vectors (docs/protocol.md); integrations/python/test_catalyst_verify.py reads the same file. */
interface Vectors {
  canonical: { name: string; input: string; canonical: string }[];
  invalid: { name: string; input: string }[];
  signature: { jwks: { keys: Record<string, string>[] }; signal: string; canonical: string };
}
const vectors = JSON.parse(
  readFileSync(new URL('../test-vectors/canonical.json', import.meta.url), 'utf8'),
) as Vectors;

// RFC 8032 section 7.1 TEST 1 secret key: public test material, never a server's key.
const TEST1_D = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');

describe('canonicalJson is RFC 8785 (JCS) on the published vectors', () => {
  it.each(vectors.canonical.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(canonicalJson(JSON.parse(v.input))).toBe(v.canonical);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('refuses to sign: %s', async (_name, v) => {
    const value = JSON.parse(v.input) as Record<string, unknown>;
    expect(illFormedStringPath(value)).toBeTruthy();
    const signer = await createSigner(testKey());
    expect(() => signer.sign(value as unknown as Omit<Signal, 'sig'>)).toThrow(/lone surrogate/);
  });

  it('refuses what JSON cannot carry: NaN, Infinity, undefined in arrays, functions, bigint', () => {
    for (const bad of [NaN, Infinity, -Infinity, [undefined], () => 1, 1n]) {
      expect(() => canonicalJson(bad)).toThrow(TypeError);
    }
  });

  it('the signature vector is what the server signer produces (Ed25519 is deterministic) and verifies', async () => {
    const signed = JSON.parse(vectors.signature.signal) as Signal;
    const signer = await createSigner(testKey());
    expect(signer.jwks).toEqual(vectors.signature.jwks);
    expect(canonicalJson(signedPart(signed))).toBe(vectors.signature.canonical);
    expect(signer.sign(signedPart(signed))).toBe(signed.sig);
    const [header, , sig] = signed.sig!.split('.');
    const payload = Buffer.from(vectors.signature.canonical).toString('base64url');
    const jwks = createLocalJWKSet(vectors.signature.jwks as Parameters<typeof createLocalJWKSet>[0]);
    await expect(compactVerify(`${header}.${payload}.${sig}`, jwks)).resolves.toBeTruthy();
  });
});

function testKey() {
  const x = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: TEST1_D.toString('base64url'), x },
    format: 'jwk',
  });
}
