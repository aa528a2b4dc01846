import { calculateJwkThumbprint, compactVerify, importJWK, type JWK } from 'jose';
import { canonicalJson, signedPart, type Signal } from '@catalyst-signal/shared';

/**
 * Signal signatures: detached compact JWS (EdDSA / Ed25519) over canonicalJson(signal without sig). Only the
 * PINNED server key is trusted; a signal that does not verify against it is never traded.
 */

export type Verifier = (signal: Signal) => Promise<{ ok: true } | { ok: false; why: string }>;

export async function fingerprint(jwk: JWK): Promise<string> {
  return 'SHA256:' + (await calculateJwkThumbprint(jwk, 'sha256'));
}

/** Pick the Ed25519 signing key out of a JWKS. */
export function signingJwk(jwks: unknown): JWK {
  const keys = (jwks as { keys?: JWK[] } | undefined)?.keys;
  const k = keys?.find(
    (x) => x.kty === 'OKP' && x.crv === 'Ed25519' && (x.use === undefined || x.use === 'sig'),
  );
  if (!k) throw new Error('no Ed25519 signing key in the server JWKS');
  const { kty, crv, x, kid, alg, use } = k;
  // Keep public members only: a JWKS that leaked "d" must never be stored or trusted as-is.
  return Object.fromEntries(
    Object.entries({ kty, crv, x, kid, alg, use }).filter(([, v]) => v !== undefined),
  ) as JWK;
}

export async function createVerifier(jwk: JWK): Promise<Verifier> {
  const key = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
  return async (signal) => {
    if (!signal.sig) return { ok: false, why: 'unsigned' };
    const parts = signal.sig.split('.');
    if (parts.length !== 3 || parts[1] !== '') return { ok: false, why: 'not a detached compact JWS' };
    try {
      // Over the signal exactly as received minus sig, fields this version does not know included (they are
      // kept by the loose SignalSchema): dropping or rewriting anything here would make a later additive
      // field fail verification, or let it go unsigned. Inside the try: a value canonicalJson refuses is a
      // failed verification (journaled, never traded), not a crash.
      const payload = Buffer.from(canonicalJson(signedPart(signal)), 'utf8').toString('base64url');
      const r = await compactVerify(`${parts[0]}.${payload}.${parts[2]}`, key, { algorithms: ['EdDSA'] });
      return r.protectedHeader.alg === 'EdDSA' ? { ok: true } : { ok: false, why: 'wrong alg' };
    } catch (e) {
      return { ok: false, why: (e as Error).message };
    }
  };
}
