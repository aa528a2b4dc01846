import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PATHS, ProblemSchema, TrackRecordSchema, type TrackRecord } from '@catalyst-signal/shared';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import { OUTCOME_DB_FILE, OutcomeDb } from '../src/store/outcome-db.js';
import { startTestServer, tempDir } from './helpers/server.js';
import { startTrackRecordFixture, type TrackRecordFixture } from './helpers/track-record.js';

// GET /v1/track-record on a real server whose own outcome worker computed outcomes from the emulator's bars:
// the figures equal those recomputed from the stored outcomes, missing data is counted (not averaged as zero),
// filters select, a bad query is a one-line 400, and no price from the market data is served.

let fx: TrackRecordFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  vi.unstubAllEnvs();
});

async function get(f: TrackRecordFixture, query = '', key = f.srv.readKey) {
  return fetch(`${f.srv.url}${PATHS.trackRecord}${query}`, { headers: { authorization: `Bearer ${key}` } });
}
async function record(f: TrackRecordFixture, query = ''): Promise<TrackRecord> {
  const res = await get(f, query);
  expect(res.status).toBe(200);
  return TrackRecordSchema.parse(await res.json());
}

describe('GET /v1/track-record', () => {
  it('aggregates every us_equity signal by horizon and group, from the stored outcomes, with stories', async () => {
    fx = await startTrackRecordFixture();
    const f = fx;
    const tr = await record(f);
    expect(tr.horizons.map((h) => h.name)).toEqual(HORIZONS.map((h) => h.name));
    // The crypto signal has no outcome and is not counted.
    expect(tr.signals).toBe(4);

    // Overall 5m from the stored outcomes: the halted entry is missing (no trade), not a zero.
    const stored = [f.seqs.fda, f.seqs.avoid, f.seqs.info].map((s) => f.db.outcomes(s)[0]!.ret!);
    const o5 = tr.overall.horizons[0]!;
    expect(o5).toMatchObject({ horizon: '5m', signals: 4, missing: { no_bars: 1 }, pending: 0 });
    expect(o5.ret!.n).toBe(3);
    expect(o5.ret!.mean).toBeCloseTo(stored.reduce((a, b) => a + b, 0) / 3, 12);
    expect(o5.ret!.hits).toBe(stored.filter((r) => r > 0).length);
    expect(o5.ret!.mean_ci![0]).toBeLessThanOrEqual(o5.ret!.mean);
    expect(f.db.outcomes(f.seqs.halted)[0]).toMatchObject({ missing: 'no_bars' });

    const keys = (g: keyof TrackRecord['groups']) => tr.groups[g].map((x) => x.key);
    expect(keys('catalyst')).toEqual(['analyst', 'earnings', 'fda', 'offering']);
    expect(keys('action')).toEqual(['avoid', 'enter', 'info']);
    expect(keys('session')).toEqual(['pre', 'regular']);
    expect(keys('keyword')).toEqual(['(none)', 'approval', 'fda']);
    expect(keys('publisher')).toEqual(['(none)', 'businesswire']);
    // The avoid is judged as a short: its figure is the fall of the price.
    const avoid = tr.groups.action.find((g) => g.key === 'avoid')!.horizons[1]!.ret!;
    expect(avoid.mean).toBeCloseTo(f.db.outcomes(f.seqs.avoid)[1]!.ret!, 12);

    // Distribution: every 1d figure lands in one bin.
    const d1 = tr.distribution.find((d) => d.horizon === '1d')!;
    expect(d1.bins.reduce((n, b) => n + b.count, 0)).toBe(tr.overall.horizons[5]!.ret!.n);

    // Stories: newest first, figures per horizon; the halted one says why it has none at 5m.
    expect(tr.stories.map((s) => s.seq)).toEqual([f.seqs.info, f.seqs.halted, f.seqs.avoid, f.seqs.fda]);
    const halted = tr.stories.find((s) => s.seq === f.seqs.halted)!;
    expect(halted.outcomes[0]).toMatchObject({ state: 'missing', missing: 'no_bars', ret: null });
    const fda = tr.stories.find((s) => s.seq === f.seqs.fda)!;
    expect(fda).toMatchObject({
      symbol: 'AAPL',
      catalyst: 'fda',
      session: 'regular',
      publisher: 'businesswire',
    });
    expect(fda.outcomes[6]!.bracket?.first).toMatch(/stop|target|neither/);
    expect(fda.outcomes[0]!.mfe_r).toBeTypeOf('number');

    // Derived figures only: no price of the market data (the bracket's exit, the first trade) in the body.
    const raw = JSON.stringify(await (await get(f)).json());
    expect(raw).not.toMatch(/exitPrice|firstTradePrice|exit_price|first_trade_price|"bars"/);
  }, 60_000);

  it('filters like history, and refuses a bad query in one line', async () => {
    fx = await startTrackRecordFixture();
    const f = fx;
    expect((await record(f, '?catalyst=fda')).signals).toBe(1);
    expect((await record(f, '?action=enter')).signals).toBe(2);
    expect((await record(f, '?keyword=approval')).signals).toBe(1);
    expect((await record(f, '?session=pre')).signals).toBe(1);
    expect((await record(f, '?symbol=pnny')).signals).toBe(1);
    expect((await record(f, '?min_confidence=0.7')).signals).toBe(2);
    expect((await record(f, '?publisher=businesswire')).signals).toBe(1);
    expect((await record(f, `?from=${f.day}&to=${f.day}`)).signals).toBe(4);
    expect((await record(f, `?to=${f.day}T10:30:00-05:00`)).signals).toBeLessThanOrEqual(2);
    const none = await record(f, '?from=2099-01-01');
    expect(none.signals).toBe(0);
    expect(none.overall.horizons[0]).toMatchObject({ signals: 0, ret: null, pending: 0 });
    expect((await record(f, '?stories=1')).stories).toHaveLength(1);

    for (const q of [
      '?from=yesterday',
      '?from=2026-02-31',
      '?to=2026-13-01',
      '?action=buy',
      '?stories=9999',
      '?limit=3',
      '?catalyst=a&catalyst=b',
    ]) {
      const res = await get(f, q);
      expect(res.status, q).toBe(400);
      const p = ProblemSchema.parse(await res.json());
      expect(p.errors?.length, q).toBeGreaterThan(0);
      expect(p.detail ?? p.title).not.toContain('\n');
    }
    expect((await get(f, '', 'cat_000000000000_' + 'A'.repeat(43))).status).toBe(401);
  }, 60_000);

  it('reads an outcomes.db made before the figure columns: they are added and filled from the JSON', () => {
    const dir = tempDir();
    const old = new Database(path.join(dir, OUTCOME_DB_FILE));
    old.exec(`CREATE TABLE outcomes (seq INTEGER NOT NULL, horizon TEXT NOT NULL, missing TEXT, figures TEXT NOT NULL,
      computed_at INTEGER NOT NULL, PRIMARY KEY (seq, horizon))`);
    const put = old.prepare('INSERT INTO outcomes VALUES (?, ?, ?, ?, 0)');
    put.run(
      7,
      '5m',
      null,
      JSON.stringify({ horizon: '5m', minutes: 5, bars: 5, ret: 0.02, abnormalRet: 0.01 }),
    );
    put.run(
      7,
      '15m',
      'no_bars',
      JSON.stringify({ horizon: '15m', minutes: 15, bars: 0, missing: 'no_bars' }),
    );
    old.close();
    const db = new OutcomeDb(dir);
    try {
      expect(db.figuresBetween(1, 10)).toEqual([
        { seq: 7, outcome: { horizon: '15m', missing: 'no_bars', ret: undefined, abnormalRet: undefined } },
        { seq: 7, outcome: { horizon: '5m', missing: undefined, ret: 0.02, abnormalRet: 0.01 } },
      ]);
    } finally {
      db.close();
    }
  });

  it('on a server without outcomes: 404 naming the config block', async () => {
    const srv = await startTestServer();
    const res = await fetch(`${srv.url}${PATHS.trackRecord}`, {
      headers: { authorization: `Bearer ${srv.readKey}` },
    });
    expect(res.status).toBe(404);
    expect(ProblemSchema.parse(await res.json()).detail).toContain('outcomes block');
  });
});
