import { describe, expect, it } from 'vitest';
import { canonicalJson, type Signal } from '@catalyst-signal/shared';
import { classification, startTestServer } from './helpers/server.js';

/**
 * The stored signal is the transparency log's leaf (docs/transparency-log.md): its bytes must be the RFC 8785
 * form of the whole signal, identical in the store and in every answer, whatever key order the publisher used.
 */
describe('the stored signal is its RFC 8785 form (log/leaf.ts)', () => {
  it('stored and served by history as the same canonical bytes', async () => {
    const t = await startTestServer();
    // Keys deliberately out of order, and a number JSON.stringify and RFC 8785 both write as 1e-7.
    const c = classification();
    const reordered = Object.fromEntries(Object.entries({ ...c, confidence: 1e-7 }).reverse());
    const res = await t.post(reordered);
    expect(res.status).toBe(201);
    const { seq } = (await res.json()) as { seq: number };

    const stored = t.server.driver.store.getJson(seq)!;
    expect(stored).toBe(canonicalJson(JSON.parse(stored) as Signal));
    const parsed = JSON.parse(stored) as Signal;
    expect(Object.keys(parsed)).toEqual(Object.keys(parsed).sort());
    expect(parsed.sig).toMatch(/^[\w-]+\.\.[\w-]+$/);

    const history = await (await t.get('/v1/signals?after_seq=0')).text();
    expect(history).toContain(stored);
  });
});
