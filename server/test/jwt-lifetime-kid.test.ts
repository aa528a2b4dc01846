import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../src/auth/jwt.js';
import { loadConfig, type ConfigInput } from '../src/config.js';
import { startTestServer } from './helpers/server.js';

/**
 * JWTs are bounded in time and bound to a key: a token may live at most jwt.max_lifetime_s (a leaked one is not
 * good for ever), and its `kid` must name the configured key, so rotating the key (and its id) revokes every
 * token signed before.
 */
const ISS = 'issuer';
const AUD = 'catalyst';
const SECRET = 's'.repeat(40);
const now = () => Math.floor(Date.now() / 1000);

function jwtConfig(over: Partial<NonNullable<ConfigInput['jwt']>> = {}) {
  const c = loadConfig({
    flags: { data_dir: '/nonexistent', jwt: { issuer: ISS, audience: AUD, secret: SECRET, ...over } },
  });
  return c.jwt!;
}

function token(
  o: { exp?: number; iat?: number | false; kid?: string; secret?: string } = {},
): Promise<string> {
  let j = new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: 'HS256', ...(o.kid ? { kid: o.kid } : {}) })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setSubject('friend')
    .setExpirationTime(o.exp ?? now() + 600);
  if (o.iat !== false) j = j.setIssuedAt(o.iat ?? now());
  return j.sign(new TextEncoder().encode(o.secret ?? SECRET));
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: Error) => e.message,
  );

describe('JWT lifetime', () => {
  it('refuses exp = 1e20 and any lifetime over jwt.max_lifetime_s (default one day), by exp - now and exp - iat', async () => {
    expect(jwtConfig().max_lifetime_s).toBe(86_400);
    const verify = await createJwtVerifier(jwtConfig({ max_lifetime_s: 3600 }));
    expect(await outcome(verify(await token({ exp: now() + 3500 })))).toBe('ok');
    expect(await outcome(verify(await token({ exp: 1e20, iat: false })))).toBe(
      'token lifetime over jwt.max_lifetime_s',
    );
    expect(await outcome(verify(await token({ exp: now() + 7200 })))).toBe(
      'token lifetime over jwt.max_lifetime_s',
    );
    // Issued long ago for a long time, even if it ends soon: its lifetime is exp - iat.
    expect(await outcome(verify(await token({ iat: now() - 7000, exp: now() + 600 })))).toBe(
      'token lifetime over jwt.max_lifetime_s',
    );
  });

  it('a real server refuses a token with exp = 1e20 on REST', async () => {
    const t = await startTestServer({ jwt: { issuer: ISS, audience: AUD, secret: SECRET } });
    expect((await t.get('/v1/signals', await token())).status).toBe(200);
    expect((await t.get('/v1/signals', await token({ exp: 1e20, iat: false }))).status).toBe(401);
  });
});

describe('JWT kid', () => {
  it('must name the configured key: another kid, or none, is refused', async () => {
    const verify = await createJwtVerifier(jwtConfig({ key_id: 'k-2026-12' }));
    expect(await outcome(verify(await token({ kid: 'k-2026-12' })))).toBe('ok');
    expect(await outcome(verify(await token({ kid: 'k-2026-06' })))).toBe('unknown kid');
    expect(await outcome(verify(await token()))).toBe('token has no kid');
    // Without a configured key id, a token naming a key is one this server does not know.
    const unnamed = await createJwtVerifier(jwtConfig());
    expect(await outcome(unnamed(await token()))).toBe('ok');
    expect(await outcome(unnamed(await token({ kid: 'k-2026-12' })))).toBe('unknown kid');
  });

  it('rotating the key and its id revokes every token signed before', async () => {
    const before = await token({ kid: 'k1' });
    const old = await createJwtVerifier(jwtConfig({ key_id: 'k1' }));
    expect(await outcome(old(before))).toBe('ok');
    const rotated = await createJwtVerifier(jwtConfig({ key_id: 'k2', secret: 'n'.repeat(40) }));
    expect(await outcome(rotated(before))).toBe('unknown kid');
    expect(await outcome(rotated(await token({ kid: 'k2', secret: 'n'.repeat(40) })))).toBe('ok');
  });
});
