import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.js';
import { classification, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { connect, type TestWs } from '../helpers/ws-client.js';

const ISS = 'catalyst-issuer';
const AUD = 'catalyst';
const b64 = (o: object | string) =>
  Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

async function upgradeStatus(c: TestWs): Promise<number | undefined> {
  return c.opened.then(
    () => undefined,
    (e: { status?: number }) => e.status,
  );
}

/** The credential must be refused on every door: REST read, REST publish, WS upgrade, WS in-band auth. */
async function refusedEverywhere(t: TestServer, token: string, label: string): Promise<void> {
  const read = await t.get('/v1/signals', token);
  expect(read.status, `${label}: GET`).toBe(401);
  expect(read.headers.get('content-type')).toBe('application/problem+json');
  expect((await t.post(classification(), { key: token })).status, `${label}: POST`).toBe(401);
  expect(await upgradeStatus(connect(t.wsUrl, token)), `${label}: upgrade`).toBe(401);
  const inBand = connect(t.wsUrl);
  await inBand.frame('hello');
  inBand.send({ type: 'auth', token });
  // 1009 when the token alone is larger than the inbound frame limit.
  expect([4001, 1009], `${label}: in-band`).toContain(await inBand.closed());
}

async function asymmetricServer(alg: 'RS256' | 'EdDSA') {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const pem = await exportSPKI(publicKey);
  const file = path.join(tempDir('catalyst-jwt-'), 'jwt-public.pem');
  writeFileSync(file, pem);
  // High auth-failure budget: this file sends many bad tokens on purpose (brute force is tested below).
  const t = await startTestServer({
    jwt: { issuer: ISS, audience: AUD, public_key_file: file, algorithms: [alg] },
    auth_failures_per_min: 100_000,
  });
  const sign = (
    claims: Record<string, unknown>,
    o: {
      key?: CryptoKey;
      alg?: string;
      iss?: string;
      aud?: string;
      exp?: number;
      nbf?: number;
      header?: Record<string, unknown>;
    } = {},
  ) => {
    let j = new SignJWT({ scope: 'read', ...claims })
      .setProtectedHeader({ alg: o.alg ?? alg, ...o.header })
      .setIssuer(o.iss ?? ISS)
      .setAudience(o.aud ?? AUD)
      .setSubject('friend')
      .setIssuedAt()
      .setExpirationTime(o.exp ?? now() + 3600);
    if (o.nbf !== undefined) j = j.setNotBefore(o.nbf);
    return j.sign(o.key ?? privateKey);
  };
  return { t, pem, publicKey, privateKey, sign };
}

describe('auth attacks: forged and misused JWTs', () => {
  for (const alg of ['RS256', 'EdDSA'] as const) {
    it(`${alg} server: valid token works; alg none, HS256-with-the-public-key, wrong key, iss, aud, exp, nbf, tampering, embedded jwk are refused`, async () => {
      const { t, pem, publicKey, sign } = await asymmetricServer(alg);
      const ok = await sign({});
      expect((await t.get('/v1/signals', ok)).status).toBe(200);
      expect((await t.post(classification(), { key: ok })).status).toBe(403); // read scope only

      const [h, p] = ok.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      const forged: [string, string][] = [];
      // alg none, in its spellings, with and without a signature part.
      for (const none of ['none', 'None', 'NONE', 'nOnE']) {
        forged.push([`alg ${none}`, `${b64({ alg: none, typ: 'JWT' })}.${b64(payload)}.`]);
        forged.push([`alg ${none} + sig`, `${b64({ alg: none })}.${b64(payload)}.${ok.split('.')[2]}`]);
      }
      // HS/RS confusion: HMAC over the token with the server's PUBLIC key (PEM text and DER bytes) as the secret.
      const pemBytes = new TextEncoder().encode(pem);
      forged.push([
        'HS256 keyed with the public PEM',
        await new SignJWT({ scope: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISS)
          .setAudience(AUD)
          .setSubject('x')
          .setExpirationTime('1h')
          .sign(pemBytes),
      ]);
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      forged.push([
        'HS256 keyed with the public DER',
        await new SignJWT({ scope: 'admin' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISS)
          .setAudience(AUD)
          .setSubject('x')
          .setExpirationTime('1h')
          .sign(new Uint8Array(der)),
      ]);
      // Another key pair of the same kind.
      const other = await generateKeyPair(alg);
      forged.push(['signed by another key', await sign({ scope: 'admin' }, { key: other.privateKey })]);
      // The attacker's key embedded in the header (jwk / jku / kid tricks).
      const otherJwk = await exportJWK((await generateKeyPair(alg, { extractable: true })).publicKey);
      forged.push([
        'embedded jwk header',
        await sign({}, { key: other.privateKey, header: { jwk: otherJwk } }),
      ]);
      forged.push([
        'jku header',
        await sign({}, { key: other.privateKey, header: { jku: 'http://127.0.0.1:1/jwks' } }),
      ]);
      forged.push([
        'kid path traversal',
        await sign({}, { key: other.privateKey, header: { kid: '../../../../dev/null' } }),
      ]);
      // Right key, wrong claims.
      forged.push(['wrong issuer', await sign({}, { iss: 'evil' })]);
      forged.push(['wrong audience', await sign({}, { aud: 'someone-else' })]);
      forged.push(['expired (beyond tolerance)', await sign({}, { exp: now() - 60 })]);
      forged.push(['not yet valid', await sign({}, { nbf: now() + 3600 })]);
      forged.push(['no known scope', await sign({ scope: 'root superuser' })]);
      forged.push(['no exp', `${h}.${b64({ ...payload, exp: undefined })}.${ok.split('.')[2]}`]);
      // Tampering with a valid token's payload (upgrade to admin) or header.
      forged.push(['payload tampered', `${h}.${b64({ ...payload, scope: 'admin' })}.${ok.split('.')[2]}`]);
      forged.push(['header swapped to HS256', `${b64({ alg: 'HS256' })}.${p}.${ok.split('.')[2]}`]);
      forged.push(['signature stripped', `${h}.${p}.`]);
      forged.push(['two parts', `${h}.${p}`]);
      forged.push(['garbage', 'a.b.c']);
      forged.push(['huge (30 KB)', `${h}.${'A'.repeat(30_000)}.x`]);
      for (const [label, token] of forged) {
        await refusedEverywhere(t, token, label).catch((e: Error) => {
          throw new Error(`${label}: ${e.message}`, { cause: e });
        });
      }
      expect(publicKey).toBeDefined();
      // The server is fine and the valid token still works.
      expect((await t.get('/v1/signals', ok)).status).toBe(200);
    });
  }
});

describe('auth attacks: API keys', () => {
  it('revoked keys are refused at once; their live sockets (several) close within 1 s; other keys unaffected', async () => {
    const t = await startTestServer();
    const victim = createApiKey(t.server.keys, 'victim', ['read']).key;
    t.server.auth.refresh();
    const sockets = [0, 1, 2].map(() => connect(t.wsUrl, victim));
    const bystander = connect(t.wsUrl, t.readKey);
    await Promise.all([...sockets, bystander].map((c) => c.frame('hello')));
    const started = Date.now();
    const res = await fetch(`${t.url}/v1/admin/keys/${victim.split('_')[1]}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(res.status).toBe(204);
    expect(await Promise.all(sockets.map((c) => c.closed(2000)))).toEqual([4003, 4003, 4003]);
    expect(Date.now() - started).toBeLessThan(1000);
    await refusedEverywhere(t, victim, 'revoked');
    bystander.send({ type: 'ping', id: 'still-here' });
    await bystander.until(() => bystander.frames.find((f) => f.type === 'pong'));
    expect(bystander.closeCode).toBeUndefined();
  });

  it('scopes: read keys cannot publish or administer; publish keys cannot read or administer', async () => {
    const t = await startTestServer();
    expect((await t.post(classification(), { key: t.readKey })).status).toBe(403);
    expect((await t.post([classification(), classification()], { key: t.readKey })).status).toBe(403);
    expect((await t.get('/v1/signals', t.publishKey)).status).toBe(403);
    expect((await t.get('/v1/signals/1', t.publishKey)).status).toBe(403);
    for (const key of [t.readKey, t.publishKey]) {
      expect((await t.get('/v1/admin/keys', key)).status).toBe(403);
      const create = await fetch(`${t.url}/v1/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'escalate', scopes: ['admin'] }),
      });
      expect(create.status).toBe(403);
      expect(
        (
          await fetch(`${t.url}/v1/admin/keys/${t.adminKey.split('_')[1]}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${key}` },
          })
        ).status,
      ).toBe(403);
    }
    expect(await upgradeStatus(connect(t.wsUrl, t.publishKey))).toBe(403);
    expect(t.server.driver.store.head).toBe(0);
  });

  it('a right key id with a wrong secret, a truncated or extended key, and case changes are all refused', async () => {
    const t = await startTestServer({ auth_failures_per_min: 100_000 });
    const [, id, secret] = /^cat_([0-9a-f]{12})_(.+)$/.exec(t.readKey)!;
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const variants = [
      `cat_${id}_${flip(secret!, 0)}`,
      `cat_${id}_${flip(secret!, 42)}`,
      `cat_${id}_${secret!.slice(0, 42)}`,
      `cat_${id}_${secret}A`,
      `CAT_${id}_${secret}`,
      `cat_${'0'.repeat(12)}_${secret}`,
    ];
    // Upper-casing an id made only of digits changes nothing (about 1 key in 300): only test it when it differs.
    if (id!.toUpperCase() !== id) variants.push(`cat_${id!.toUpperCase()}_${secret}`);
    for (const v of variants) {
      const res = await t.get('/v1/signals', v);
      expect(res.status, v).toBe(401);
    }
    expect((await t.get('/v1/signals', t.readKey)).status).toBe(200);
  });

  it('brute force from one address: after 30 failures a minute, 429 with Retry-After, even for a valid key and on the WS upgrade', async () => {
    const t = await startTestServer();
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await t.get('/v1/signals', `cat_${i.toString(16).padStart(12, '0')}_${'x'.repeat(43)}`);
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    const blocked = await t.get('/v1/signals', t.readKey);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.headers.get('content-type')).toBe('application/problem+json');
    expect(await upgradeStatus(connect(t.wsUrl, t.readKey))).toBe(429);
    // Unauthenticated endpoints stay up.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('timing-safe comparison: by code review (sha256 + timingSafeEqual, dummy compare for unknown ids)', async () => {
    // No statistical timing test (it would be flaky on a shared 2-core runner). What is pinned here is the
    // property the review relies on: an unknown id and a known id with a wrong secret take the same path
    // (hash + constant-time compare) and give the same answer, so the answer reveals nothing either.
    const { readFileSync } = await import('node:fs');
    const src = readFileSync(new URL('../../src/auth/authenticator.ts', import.meta.url), 'utf8');
    expect(src).toMatch(/secretMatches\(parsed\.secret, row \?\? DUMMY\)/);
    const keys = readFileSync(new URL('../../src/auth/api-keys.ts', import.meta.url), 'utf8');
    expect(keys).toMatch(/timingSafeEqual\(presented, row\.hash\)/);
    const t = await startTestServer({ auth_failures_per_min: 100_000 });
    const [, id] = /^cat_([0-9a-f]{12})_/.exec(t.readKey)!;
    const known = await t.get('/v1/signals', `cat_${id}_${'z'.repeat(43)}`);
    const unknown = await t.get('/v1/signals', `cat_${'f'.repeat(12)}_${'z'.repeat(43)}`);
    expect([known.status, unknown.status]).toEqual([401, 401]);
    expect(await known.text()).toBe(await unknown.text());
  });
});
