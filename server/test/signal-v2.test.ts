import Database from 'better-sqlite3';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, signedPart, type ClassificationInput, type Signal } from '@catalyst-signal/shared';
import { DB_FILE } from '../src/store/db.js';
import { SIGNING_KEY_FILE } from '../src/signing.js';
import { classification, startTestServer, tempDir, type TestServer } from './helpers/server.js';
import { connect, type TestWs } from './helpers/ws-client.js';
import { verifyStore } from './helpers/verify-store.js';

// Signal v2 on the real server (#11, docs/signal-v2.md): the new fields are stored, returned and signed; the
// cross-field rules hold at the publisher's edge; the new subscription and history filters select by them,
// v1 signals by their effective action; a database written before v2 migrates without rewriting a body.

const v2 = (i: number, over: Partial<ClassificationInput>): ClassificationInput => {
  const { direction: _d, ...base } = classification(i);
  return { ...base, asset_class: 'us_equity', exchange: 'NASDAQ', currency: 'USD', ...over };
};

/** One of each kind: a v2 enter, exit (no direction), avoid, info, then a v1 long and a v1 neutral. */
const MIX: ClassificationInput[] = [
  v2(1, {
    symbol: 'ABCD',
    action: 'enter',
    direction: 'long',
    sentiment: 0.6,
    keywords: ['fda', 'clinical'],
    relevance: 3.5,
    position_size_pct: 3.06,
    timeframe: 'intraday',
    stop_loss: 1.9,
    take_profit: 2.4,
    price: 2,
  }),
  v2(2, { symbol: 'EFGH', action: 'exit', confidence: 1, sentiment: -0.8, keywords: ['going_concern'] }),
  v2(3, { symbol: 'IJKL', action: 'avoid', sentiment: -0.2, keywords: ['offering', 'dilution'] }),
  v2(4, { symbol: 'MNOP', action: 'info', sentiment: 0.1, keywords: ['partnership'] }),
  classification(5, { symbol: 'BTC', direction: 'long' }),
  classification(6, { symbol: 'ETH', direction: 'neutral' }),
];

async function publishMix(t: TestServer): Promise<void> {
  const res = await t.post(MIX);
  expect(res.status).toBe(201);
}

const symbolsOf = (signals: Signal[]) => signals.map((s) => s.symbol);

async function history(t: TestServer, query: string): Promise<Signal[]> {
  const res = await t.get(`/v1/signals?${query}`);
  expect(res.status, query).toBe(200);
  return ((await res.json()) as { signals: Signal[] }).signals;
}

async function filteredStream(t: TestServer, filters: object): Promise<TestWs> {
  const c = connect(t.wsUrl, t.readKey);
  await c.frame('hello');
  c.send({ type: 'subscribe', from_seq: 0, filters });
  await c.frame('caught_up');
  return c;
}

describe('signal v2 on the server', () => {
  it('stores, returns and signs the new fields; v1 signals come back unchanged', async () => {
    const t = await startTestServer();
    await publishMix(t);
    const signals = await history(t, 'limit=10');
    expect(signals).toHaveLength(6);
    expect(signals[0]).toMatchObject({
      action: 'enter',
      direction: 'long',
      asset_class: 'us_equity',
      exchange: 'NASDAQ',
      currency: 'USD',
      sentiment: 0.6,
      keywords: ['fda', 'clinical'],
      relevance: 3.5,
      position_size_pct: 3.06,
      timeframe: 'intraday',
    });
    expect(signals[1]).toMatchObject({ action: 'exit', confidence: 1 });
    expect(signals[1]).not.toHaveProperty('direction');
    expect(signals[4]).not.toHaveProperty('action');
    const one = await (await t.get('/v1/signals/2')).json();
    expect(one).toEqual(signals[1]);
    // Every stored body verifies, and its filter columns agree with it (the chaos suites' checker).
    await t.close();
    const report = verifyStore(t.dataDir, []);
    expect(report.problems.filter((p) => !p.endsWith('was never sent'))).toEqual([]);
    const pub = createPublicKey(readFileSync(path.join(t.dataDir, SIGNING_KEY_FILE)));
    const [h, , sig] = signals[0]!.sig!.split('.');
    const tampered = { ...signals[0]!, keywords: ['fda'] };
    const input = `${h}.${Buffer.from(canonicalJson(signedPart(tampered))).toString('base64url')}`;
    expect(verify(null, Buffer.from(input), pub, Buffer.from(sig!, 'base64url'))).toBe(false);
  });

  it('refuses what breaks the rules; the publisher stays strict (unknown fields refused)', async () => {
    const t = await startTestServer();
    const cases: [Partial<ClassificationInput>, string][] = [
      [{ action: 'enter' }, 'direction'],
      [{ action: 'enter', direction: 'neutral' }, 'direction'],
      [{ action: 'buy' as never }, 'action'],
      [{ action: 'info', keywords: Array.from({ length: 17 }, (_, i) => `k${i}`) }, 'keywords'],
      [{ action: 'info', keywords: ['FDA'] }, 'keywords[0]'],
      [{ action: 'info', keywords: ['x'.repeat(41)] }, 'keywords[0]'],
      [{ action: 'info', sentiment: 1.5 }, 'sentiment'],
      [{ action: 'info', position_size_pct: 0 }, 'position_size_pct'],
      [{ action: 'info', position_size_pct: 101 }, 'position_size_pct'],
      [{ action: 'info', relevance: -1 }, 'relevance'],
      [{ action: 'info', exchange: 'nasdaq' }, 'exchange'],
      [{ action: 'info', currency: 'usd' }, 'currency'],
      [{ action: 'info', timeframe: 'forever' as never }, 'timeframe'],
      [{ action: 'info', asset_class: 'forex' as never }, 'asset_class'],
      [{ action: 'info', future_field: 1 } as never, ''],
      // Valid ISO 8601 but 50 fractional digits: padding, not precision (times are at most 40 characters).
      [{ action: 'info', classified_at: `2026-11-24T01:43:22.${'1'.repeat(50)}Z` }, 'classified_at'],
    ];
    for (const [over, field] of cases) {
      const { direction: _d, ...base } = classification();
      const res = await t.post({ ...base, ...over });
      expect(res.status, JSON.stringify(over)).toBe(400);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(
        problem.errors.map((e) => e.path),
        JSON.stringify(over),
      ).toContain(field);
    }
    // No action and no direction: a v1 signal without its direction.
    const { direction: _d, ...noDirection } = classification();
    expect((await t.post(noDirection)).status).toBe(400);
    expect(t.server.driver.store.head).toBe(0);
  });

  it('subscription filters: actions (v1 by effective action), asset_classes, keywords (any of), min_sentiment', async () => {
    const t = await startTestServer({ ws_max_per_key: 20 });
    await publishMix(t);
    const cases: [object, string[]][] = [
      [{ actions: ['enter'] }, ['ABCD', 'BTC']],
      [{ actions: ['info'] }, ['MNOP', 'ETH']],
      [{ actions: ['exit', 'avoid'] }, ['EFGH', 'IJKL']],
      [{ asset_classes: ['us_equity'] }, ['ABCD', 'EFGH', 'IJKL', 'MNOP']],
      [{ keywords: ['FDA', 'dilution'] }, ['ABCD', 'IJKL']],
      [{ min_sentiment: 0 }, ['ABCD', 'MNOP']],
      [{ min_sentiment: -1 }, ['ABCD', 'EFGH', 'IJKL', 'MNOP']],
      [{ directions: ['long'] }, ['ABCD', 'BTC']],
      [{ actions: ['enter'], asset_classes: ['us_equity'] }, ['ABCD']],
    ];
    const streams = await Promise.all(cases.map(([f]) => filteredStream(t, f)));
    // Replayed from the log (row columns) ...
    cases.forEach(([f, want], i) =>
      expect(symbolsOf(streams[i]!.signals() as Signal[]), JSON.stringify(f)).toEqual(want),
    );
    // ... and live (parsed signals): the same answers.
    await publishMix2(t);
    for (const [i, [f, want]] of cases.entries()) {
      const c = streams[i]!;
      await c.until(() => c.signals().length === want.length * 2, 10_000, JSON.stringify(f));
      expect(symbolsOf(c.signals().slice(want.length) as Signal[]), JSON.stringify(f)).toEqual(want);
    }
  });

  it('history filters: action, asset_class, keyword, min_sentiment', async () => {
    const t = await startTestServer({ ws_max_per_key: 20 });
    await publishMix(t);
    expect(symbolsOf(await history(t, 'action=enter'))).toEqual(['ABCD', 'BTC']);
    expect(symbolsOf(await history(t, 'action=info'))).toEqual(['MNOP', 'ETH']);
    expect(symbolsOf(await history(t, 'asset_class=us_equity&action=avoid'))).toEqual(['IJKL']);
    expect(symbolsOf(await history(t, 'keyword=clinical'))).toEqual(['ABCD']);
    // A whole keyword, not a substring of one.
    expect(symbolsOf(await history(t, 'keyword=concern'))).toEqual([]);
    expect(symbolsOf(await history(t, 'min_sentiment=-0.5'))).toEqual(['ABCD', 'IJKL', 'MNOP']);
    for (const q of ['action=buy', 'asset_class=fx', 'keyword=FDA', 'min_sentiment=2', 'min_sentiment=x']) {
      expect((await t.get(`/v1/signals?${q}`)).status, q).toBe(400);
    }
  });

  it('a database written before v2 migrates: v1 rows get their effective action, bodies untouched', async () => {
    const dir = tempDir();
    const before = await startTestServer({}, dir);
    await before.post([
      classification(1, { symbol: 'BTC', direction: 'long' }),
      classification(2, { symbol: 'ETH', direction: 'neutral' }),
    ]);
    const bodies = (await history(before, '')).map((s) => JSON.stringify(s));
    await before.close();
    // Turn the file back into the shipped v1 schema (schema 1: no v2 columns).
    const db = new Database(path.join(dir, DB_FILE));
    for (const col of ['action', 'asset_class', 'sentiment', 'keywords'])
      db.exec(`ALTER TABLE signals DROP COLUMN ${col}`);
    db.pragma('user_version = 1');
    db.close();
    const after = await startTestServer({}, dir);
    expect((await history(after, '')).map((s) => JSON.stringify(s))).toEqual(bodies);
    expect(symbolsOf(await history(after, 'action=enter'))).toEqual(['BTC']);
    expect(symbolsOf(await history(after, 'action=info'))).toEqual(['ETH']);
  });
});

/** The same mix again with fresh source ids (so it is stored, not deduplicated). */
async function publishMix2(t: TestServer): Promise<void> {
  const res = await t.post(MIX.map((c, i) => ({ ...c, source_id: `${c.source_id}-again-${i}` })));
  expect(res.status).toBe(201);
}
