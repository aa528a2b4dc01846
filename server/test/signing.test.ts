import { compactVerify, createLocalJWKSet, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalJson, signedPart, type Signal } from '@catalyst-signal/shared';
import { classification, startTestServer } from './helpers/server.js';
import { statSync } from 'node:fs';
import path from 'node:path';

async function verify(signal: Signal, jwk: Parameters<typeof importJWK>[0]): Promise<boolean> {
  const [header, , sig] = signal.sig!.split('.');
  const payload = Buffer.from(canonicalJson(signedPart(signal))).toString('base64url');
  try {
    await compactVerify(`${header}.${payload}.${sig}`, await importJWK(jwk, 'EdDSA'));
    return true;
  } catch {
    return false;
  }
}

describe('signed signals', () => {
  it('each stored signal carries a detached EdDSA JWS over its canonical form incl. seq and epoch', async () => {
    const t = await startTestServer();
    await t.post([classification(1, { meta: { b: 1, a: [1, { z: 2, y: 3 }] } }), classification(2)]);
    const jwks = await (await fetch(`${t.url}/v1/keys/signing`)).json();
    expect(jwks.keys).toHaveLength(1);
    const body = await (await t.get('/v1/signals')).json();
    for (const s of body.signals as Signal[]) {
      expect(await verify(s, jwks.keys[0])).toBe(true);
      // Changing seq, epoch or any field breaks it: a server cannot replay a signal under another seq.
      expect(await verify({ ...s, seq: s.seq + 1 }, jwks.keys[0])).toBe(false);
      expect(await verify({ ...s, epoch: 'other' }, jwks.keys[0])).toBe(false);
      expect(await verify({ ...s, confidence: 1 }, jwks.keys[0])).toBe(false);
    }
    // jose's own JWKS resolver finds the key by kid in the protected header.
    const s = body.signals[0] as Signal;
    const [header, , sig] = s.sig!.split('.');
    const payload = Buffer.from(canonicalJson(signedPart(s))).toString('base64url');
    await expect(compactVerify(`${header}.${payload}.${sig}`, createLocalJWKSet(jwks))).resolves.toBeTruthy();
  });

  it('a lone surrogate (valid JSON, not I-JSON, no RFC 8785 form) is refused at the edge with its field', async () => {
    const t = await startTestServer();
    const body = JSON.stringify([classification(1), classification(2, { meta: { note: 'ok' } })]).replace(
      '"note":"ok"',
      '"note":"x\\ud800"',
    );
    const res = await t.post(body);
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.errors).toEqual([{ path: '[1].meta.note', message: 'lone surrogate: not I-JSON' }]);
    // A surrogate PAIR is a normal character and is signed as UTF-8.
    expect((await t.post(classification(3, { headline: 'rocket \ud83d\ude80' }))).status).toBe(201);
  });

  it('the signing key survives restarts and its file is 0600', async () => {
    const t = await startTestServer();
    const fp = t.server.signer!.fingerprint;
    const dir = t.dataDir;
    await t.close();
    expect((statSync(path.join(dir, 'signing-key.pem')).mode & 0o777).toString(8)).toBe('600');
    const again = await startTestServer({}, dir);
    expect(again.server.signer!.fingerprint).toBe(fp);
  });
});

describe('/metrics', () => {
  it('serves Prometheus text whose counters move', async () => {
    const t = await startTestServer();
    const scrape = async () => (await fetch(`${t.url}/metrics`)).text();
    const value = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const before = await scrape();
    expect(before).toMatch(/# TYPE catalyst_signals_ingested_total counter/);
    expect(before).toMatch(/# TYPE catalyst_ingest_commit_seconds histogram/);
    expect(value(before, 'catalyst_signals_ingested_total')).toBe(0);
    await t.post([classification(), classification()]);
    await t.post({ ...classification(), confidence: 5 });
    await fetch(`${t.url}/v1/signals`, {
      headers: { authorization: 'Bearer cat_000000000000_' + 'Q'.repeat(43) },
    });
    const after = await scrape();
    expect(value(after, 'catalyst_signals_ingested_total')).toBe(2);
    expect(after).toMatch(/catalyst_auth_failures_total\{transport="rest"\} 1/);
    expect(value(after, 'catalyst_db_size_bytes')).toBeGreaterThan(0);
    // Every non-comment line is `name{labels} value` (Prometheus parses NaN/Inf case-insensitively;
    // prom-client writes an empty event-loop-lag histogram's mean as "Nan").
    for (const line of after.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][\w:]*(\{[^}]*\})? (-?[\d.e+-]+|NaN|[+-]Inf)$/i);
    }
  });
});
