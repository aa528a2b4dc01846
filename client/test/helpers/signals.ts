import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { canonicalJson, signedPart, type Signal } from '@catalyst-signal/shared';

/** Signing like the server does: detached compact JWS (EdDSA) over canonicalJson(signal without sig). */

export interface TestSigner {
  jwk: JWK;
  privateKey: CryptoKey;
  sign(s: Omit<Signal, 'sig'>): Promise<Signal>;
}

export async function createSigner(): Promise<TestSigner> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-1', alg: 'EdDSA', use: 'sig' };
  return {
    jwk,
    privateKey,
    async sign(s) {
      const payload = new TextEncoder().encode(canonicalJson(signedPart(s as Signal)));
      const jws = await new CompactSign(payload)
        .setProtectedHeader({ alg: 'EdDSA', kid: 'test-1' })
        .sign(privateKey);
      const [h, , sig] = jws.split('.');
      return { ...s, sig: `${h}..${sig}` } as Signal;
    },
  };
}

let counter = 0;
export function baseSignal(seq: number, over: Partial<Signal> = {}, now = Date.now()): Omit<Signal, 'sig'> {
  return {
    source_id: `src-${seq}-${counter++}`,
    symbol: 'BTC',
    catalyst: 'earnings',
    direction: 'long',
    confidence: 0.9,
    price: 60000,
    headline: `headline ${seq}`,
    classified_at: new Date(now - 1000).toISOString(),
    seq,
    epoch: 'ep-test',
    ingested_at: new Date(now).toISOString(),
    ...over,
  } as Omit<Signal, 'sig'>;
}
