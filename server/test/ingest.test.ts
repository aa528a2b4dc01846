import { expect, it } from 'vitest';
import { classification } from './helpers/server.js';
import { describeTargets, startTarget } from './helpers/target.js';

// On the gateway target POSTs go to the ingest node (`serve --role ingest`) and reads to the gateway.
describeTargets('POST /v1/signals', (kind) => {
  it('stores a classification with seq 1, answers 201 with the seq and epoch', async () => {
    const t = await startTarget(kind);
    const res = await t.post(classification(1));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ seq: 1, duplicate: false, epoch: t.epoch });
    const one = await (await t.get('/v1/signals/1')).json();
    expect(one).toMatchObject({ seq: 1, epoch: t.epoch, symbol: 'TSLA' });
    expect(typeof one.sig).toBe('string');
    expect(one.ingested_at).toMatch(/Z$/);
  });

  it('returns the ORIGINAL seq with 200 and duplicate:true for a repeated source_id', async () => {
    const t = await startTarget(kind);
    const c = classification(2);
    await t.post(classification(3));
    const first = await (await t.post(c)).json();
    const again = await t.post({ ...c, headline: 'changed' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ seq: first.seq, duplicate: true });
    expect(t.head()).toBe(2);
  });

  it('accepts a batch, dedupes inside it, answers per item', async () => {
    const t = await startTarget(kind);
    const a = classification(4);
    const b = classification(5);
    const res = await t.post([a, b, a]);
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.results).toEqual([
      { source_id: a.source_id, seq: 1, duplicate: false },
      { source_id: b.source_id, seq: 2, duplicate: false },
      { source_id: a.source_id, seq: 1, duplicate: true },
    ]);
    const dup = await t.post([a, b]);
    expect(dup.status).toBe(200);
  });

  it('lists every invalid field at once as problem+json, and stores nothing of the batch', async () => {
    const t = await startTarget(kind);
    const res = await t.post([
      classification(6),
      { ...classification(7), confidence: 2, direction: 'up', extra: 1 },
      { symbol: '' },
    ]);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const p = await res.json();
    expect(p.code).toBe('validation_failed');
    const paths = p.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(['[1].confidence', '[1].direction', '[2].symbol', '[2].source_id', '[2].price']),
    );
    expect(
      paths.some((x: string) => x.startsWith('[1]') && /extra|^\[1\]$/.test(x)) ||
        p.errors.some((e: { message: string }) => /extra/.test(e.message)),
    ).toBe(true);
    expect(t.head()).toBe(0);
  });

  it('answers 400 bad_json for a body that is not JSON', async () => {
    const t = await startTarget(kind);
    const res = await t.post('{"source_id": ');
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('bad_json');
  });

  it('401 without or with a wrong key, 403 with a read key', async () => {
    const t = await startTarget(kind);
    const none = await fetch(`${t.ingestUrl}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await t.post(classification(), { key: 'cat_000000000000_' + 'A'.repeat(43) })).status).toBe(401);
    expect((await t.post(classification(), { key: 'garbage' })).status).toBe(401);
    const forbidden = await t.post(classification(), { key: t.readKey });
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).code).toBe('forbidden');
  });

  it('413 for a single body over 64 KiB and a batch over the limits', async () => {
    const t = await startTarget(kind, { max_batch: 10 });
    const big = { ...classification(), headline: 'x'.repeat(400), meta: { blob: 'y'.repeat(70_000) } };
    expect((await t.post(big)).status).toBe(413);
    const many = Array.from({ length: 11 }, (_, i) => classification(100 + i));
    expect((await t.post(many)).status).toBe(413);
    const huge = 'z'.repeat(1024 * 1024 + 10);
    expect((await t.post(`["${huge}"]`)).status).toBe(413);
    expect(t.head()).toBe(0);
  });

  it('accepts the Bearer scheme in any case (RFC 9110), refuses other schemes', async () => {
    const t = await startTarget(kind);
    const post = (authorization: string) =>
      fetch(`${t.ingestUrl}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify(classification()),
      });
    expect((await post(`bearer ${t.publishKey}`)).status).toBe(201);
    expect((await post(`BEARER ${t.publishKey}`)).status).toBe(201);
    expect((await post(`Basic ${t.publishKey}`)).status).toBe(401);
  });

  it('415 for a wrong content type', async () => {
    const t = await startTarget(kind);
    const res = await t.post(classification(), { contentType: 'text/plain' });
    expect(res.status).toBe(415);
    expect((await res.json()).code).toBe('unsupported_media_type');
  });

  it('429 with Retry-After and RateLimit headers when a key exceeds its rate', async () => {
    const t = await startTarget(kind, { rest_publish_per_min: 3, rest_read_per_min: 2 });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await t.post(classification())).status);
    expect(codes).toEqual([201, 201, 201, 429]);
    const limited = await t.post(classification());
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-limit')).toBe('3');
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Read keys have their own, lower budget.
    expect((await t.get('/v1/signals')).status).toBe(200);
    expect((await t.get('/v1/signals')).status).toBe(200);
    expect((await t.get('/v1/signals')).status).toBe(429);
  });

  it('limits failed authentication per IP (brute force)', async () => {
    const t = await startTarget(kind, { auth_failures_per_min: 5 });
    const codes: number[] = [];
    for (let i = 0; i < 7; i++)
      codes.push((await t.post(classification(), { key: `cat_00000000000${i}_${'B'.repeat(43)}` })).status);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toEqual([429, 429]);
    // While the IP is blocked even a right key waits: that is what makes guessing useless.
    expect((await t.post(classification())).status).toBe(429);
  });
});
