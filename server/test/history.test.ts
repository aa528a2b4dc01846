import { expect, it } from 'vitest';
import { classification } from './helpers/server.js';
import { describeTargets, startTarget } from './helpers/target.js';

describeTargets('GET /v1/signals', (kind) => {
  it('pages through everything exactly once, ascending, with next_after_seq', async () => {
    const t = await startTarget(kind, { rest_read_per_min: 10_000 });
    const batch = Array.from({ length: 250 }, (_, i) => classification(i));
    expect((await t.post(batch)).status).toBe(201);
    const seen: number[] = [];
    let after = 0;
    for (let pages = 0; pages < 10; pages++) {
      const body = await (await t.get(`/v1/signals?after_seq=${after}&limit=70`)).json();
      expect(body.head_seq).toBe(250);
      expect(body.epoch).toBe(t.epoch);
      seen.push(...body.signals.map((s: { seq: number }) => s.seq));
      if (body.signals.length === 0) break;
      after = body.next_after_seq;
    }
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it('defaults to 100 and caps limit at 1000', async () => {
    const t = await startTarget(kind);
    await t.post(Array.from({ length: 120 }, (_, i) => classification(i)));
    const body = await (await t.get('/v1/signals')).json();
    expect(body.signals).toHaveLength(100);
    expect(body.next_after_seq).toBe(100);
    expect((await t.get('/v1/signals?limit=1001')).status).toBe(400);
  });

  it('filters by symbol, catalyst, min_confidence and time; next_after_seq moves to head when done', async () => {
    const t = await startTarget(kind);
    await t.post(Array.from({ length: 50 }, (_, i) => classification(i)));
    const body = await (await t.get('/v1/signals?symbol=aapl&catalyst=earnings&min_confidence=0.5')).json();
    expect(body.signals.length).toBeGreaterThan(0);
    for (const s of body.signals) {
      expect(s.symbol).toBe('AAPL');
      expect(s.catalyst).toBe('earnings');
      expect(s.confidence).toBeGreaterThanOrEqual(0.5);
    }
    expect(body.next_after_seq).toBe(50);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const none = await (await t.get(`/v1/signals?since=${encodeURIComponent(future)}`)).json();
    expect(none.signals).toEqual([]);
    const past = new Date(Date.now() - 3600_000).toISOString();
    const all = await (await t.get(`/v1/signals?since=${encodeURIComponent(past)}&limit=1000`)).json();
    expect(all.signals).toHaveLength(50);
  });

  it('rejects invalid query values with problem+json, never a 500', async () => {
    const t = await startTarget(kind, { rest_read_per_min: 10_000 });
    for (const q of [
      'limit=-1',
      'limit=0',
      'limit=NaN',
      'after_seq=-5',
      'after_seq=99999999999999999999',
      'min_confidence=2',
      'since=yesterday',
      'bogus=1',
      'limit=1&limit=2',
    ]) {
      const res = await t.get(`/v1/signals?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('GET /v1/signals/{seq}: the signal, 404 problem when absent, 400 for a non-number', async () => {
    const t = await startTarget(kind);
    await t.post(classification(9));
    expect((await (await t.get('/v1/signals/1')).json()).seq).toBe(1);
    const missing = await t.get('/v1/signals/2');
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('not_found');
    expect((await t.get('/v1/signals/abc')).status).toBe(400);
  });

  it('needs a key: 401 without one', async () => {
    const t = await startTarget(kind);
    expect((await fetch(`${t.url}/v1/signals`)).status).toBe(401);
  });
});

describeTargets('health', (kind) => {
  it('healthz without auth says which transport runs; readyz checks the database is writable', async () => {
    const t = await startTarget(kind);
    const h = await (await fetch(`${t.url}/healthz`)).json();
    expect(h.status).toBe('ok');
    expect(h.transport).toMatch(/^uws-/);
    expect(Math.abs(h.time - Date.now())).toBeLessThan(5000);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${t.url}/nope`)).status).toBe(404);
    const put = await fetch(`${t.url}/v1/signals`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect((await put.json()).code).toBe('method_not_allowed');
  });
});
