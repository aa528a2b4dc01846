import { readFileSync } from 'node:fs';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, importSPKI, jwtVerify } from 'jose';
import { SCOPES, type Scope } from '@catalyst-signal/shared';
import type { Config } from '../config.js';

export interface JwtPrincipal {
  subject: string;
  scopes: Scope[];
  /** Expiry, ms since epoch. */
  expiresAt: number | undefined;
}

export type JwtVerifier = (token: string) => Promise<JwtPrincipal>;

export class JwtRejected extends Error {
  override name = 'JwtRejected';
}

/**
 * JWT verification: algorithm allow-list from config (never `none`; a secret only with HS256, a public key
 * only with asymmetric algorithms, so HS/RS confusion is impossible), issuer, audience, exp/nbf with a small
 * clock tolerance. Scopes come from the `scope` claim (space-separated, OAuth style) or `scopes` (array).
 */
export async function createJwtVerifier(cfg: NonNullable<Config['jwt']>): Promise<JwtVerifier> {
  let key: KeyObject | Awaited<ReturnType<typeof importSPKI>>;
  const algorithms = cfg.algorithms;
  if (cfg.secret) {
    key = createSecretKey(Buffer.from(cfg.secret));
  } else {
    const pem = readFileSync(cfg.public_key_file!, 'utf8');
    const asym = algorithms.filter((a) => a !== 'HS256');
    if (asym.length !== 1) throw new Error('jwt.public_key_file needs exactly one asymmetric algorithm');
    key = await importSPKI(pem, asym[0]!);
  }
  // The header's kid must name the configured key (or be absent when none is named): a token signed for
  // another key, or one from before a rotation, is refused before its signature is even checked.
  const keyFor = (header: { kid?: string | undefined }) => {
    if (header.kid !== cfg.key_id)
      throw new JwtRejected(header.kid === undefined ? 'token has no kid' : 'unknown kid');
    return key;
  };
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keyFor, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.secret ? ['HS256'] : algorithms.filter((a) => a !== 'HS256'),
        clockTolerance: cfg.clock_tolerance_s,
        requiredClaims: ['exp', 'sub'],
      });
      // jose checks exp is in the future; nothing bounded how far (exp = 1e20 was accepted).
      const nowS = Date.now() / 1000;
      if (payload.exp! - nowS > cfg.max_lifetime_s + cfg.clock_tolerance_s)
        throw new JwtRejected('token lifetime over jwt.max_lifetime_s');
      if (payload.iat !== undefined && payload.exp! - payload.iat > cfg.max_lifetime_s)
        throw new JwtRejected('token lifetime over jwt.max_lifetime_s');
      const raw = typeof payload.scope === 'string' ? payload.scope.split(' ') : payload.scopes;
      const scopes = (Array.isArray(raw) ? raw : []).filter((s): s is Scope => SCOPES.includes(s as Scope));
      if (scopes.length === 0) throw new JwtRejected('token grants no known scope');
      return { subject: payload.sub!, scopes, expiresAt: payload.exp ? payload.exp * 1000 : undefined };
    } catch (err) {
      if (err instanceof JwtRejected) throw err;
      if (err instanceof errors.JOSEError) throw new JwtRejected(err.code);
      throw new JwtRejected('malformed token');
    }
  };
}
