import { afterEach, describe, expect, it } from 'vitest';
import { builtinCalendar } from '@catalyst-signal/shared/calendar';
import { AlpacaMarketData, CachedMarketData } from '@catalyst-signal/shared/market-data';
import { computeOutcomes, HORIZONS, Missing } from '@catalyst-signal/shared/outcomes';
import { OutcomeWorker } from '../src/outcomes/worker.js';
import { OutcomeDb } from '../src/store/outcome-db.js';
import { classification, startTestServer, type TestServer } from './helpers/server.js';
// The project's Alpaca emulator (it lives with the client's tests, which use it most): bars on a virtual clock.
import {
  DEFAULT_ASSETS,
  nyToMs,
  startAlpacaEmulator,
  type AlpacaEmulator,
} from '../../client/test/helpers/alpaca-emulator.js';

// The outcome worker on a real server's SQLite log, with bars from the Alpaca emulator: outcomes appear as the
// emulator's clock passes each horizon (+15 minutes, when SIP data is final), halts are missing (not zero),
// non-equity signals are ignored, and nothing is fetched twice.

let emu: AlpacaEmulator;
const dbs: OutcomeDb[] = [];
afterEach(async () => {
  for (const d of dbs.splice(0)) d.close();
  await emu?.close();
});

const ny = (wall: string) => new Date(nyToMs(wall)).toISOString();

async function setup() {
  emu = await startAlpacaEmulator({
    now: '2026-11-23T10:00',
    assets: [
      ...DEFAULT_ASSETS,
      { ...DEFAULT_ASSETS[0]!, symbol: 'IWM', name: 'iShares Russell 2000 ETF', price: 240 },
    ],
  });
  const srv = await startTestServer();
  const post = async (over: Parameters<typeof classification>[1]) => {
    const res = await srv.post(classification(undefined, over));
    expect(res.status).toBe(201);
  };
  return { srv, post };
}

function worker(srv: TestServer) {
  const db = new OutcomeDb(srv.dataDir);
  dbs.push(db);
  const api = new AlpacaMarketData({
    keyId: emu.keyId,
    secret: emu.secret,
    baseUrl: emu.url,
    now: () => emu.now(),
  });
  const market = new CachedMarketData(api, db, { now: () => emu.now() });
  const errors: unknown[] = [];
  const w = new OutcomeWorker({
    reader: srv.server.driver.reader,
    market,
    db,
    now: () => emu.now(),
    onError: (_seq, e) => errors.push(e),
  });
  return { w, db, errors };
}

const barCalls = () => emu.requests.filter((r) => r.path.endsWith('/bars'));

describe('the outcome worker', () => {
  it('computes each horizon once its bars are final, from the same arithmetic as a reference on the bars', async () => {
    const { srv, post } = await setup();
    await post({
      symbol: 'AAPL',
      asset_class: 'us_equity',
      action: 'enter',
      direction: 'long',
      price: 200,
      stop_loss: 196,
      take_profit: 206,
      classified_at: ny('2026-11-23T10:00'),
    });
    // In the PNNY halt (10:30-10:45): its 5m window has no trade.
    await post({
      symbol: 'PNNY',
      asset_class: 'us_equity',
      action: 'avoid',
      direction: 'long',
      price: 0.5,
      classified_at: ny('2026-11-23T10:31'),
    });
    await post({
      symbol: 'BTC',
      asset_class: 'crypto',
      direction: 'long',
      price: 90_000,
      classified_at: ny('2026-11-23T10:00'),
    });
    await post({ symbol: 'AAPL', direction: 'long', price: 200, classified_at: ny('2026-11-23T10:00') }); // v1: no asset class
    const { w, db, errors } = worker(srv);

    expect(await w.runOnce()).toEqual({ added: 2, computed: 0, failed: 0 });
    expect(barCalls()).toHaveLength(0);
    // 10:05 + 15 minutes: the 5m horizon is final, nothing else.
    emu.setClock('2026-11-23T10:19');
    expect((await w.runOnce()).computed).toBe(0);
    emu.setClock('2026-11-23T10:20');
    expect(await w.runOnce()).toEqual({ added: 0, computed: 1, failed: 0 });
    const [m5] = db.outcomes(1);
    expect(db.outcomes(1)).toHaveLength(1);
    const got = await new AlpacaMarketData({
      keyId: emu.keyId,
      secret: emu.secret,
      baseUrl: emu.url,
      now: () => emu.now(),
    }).getBars(['AAPL', 'IWM'], nyToMs('2026-11-23T10:00'), nyToMs('2026-11-23T10:05'));
    const ref = computeOutcomes(
      { at: nyToMs('2026-11-23T10:00'), price: 200, side: 'long', stop: 196, target: 206 },
      got.get('AAPL')!,
      builtinCalendar(nyToMs('2026-11-23T00:00'), 14),
      Infinity,
      undefined,
      got.get('IWM'),
    );
    expect(m5).toEqual(JSON.parse(JSON.stringify(ref[0])));
    expect(m5!.bars).toBeGreaterThan(3);
    // The benchmark traded in the window: an abnormal return, the signal's minus IWM's.
    expect(m5!.benchRet).toBeTypeOf('number');
    expect(m5!.abnormalRet).toBeCloseTo(m5!.ret! - m5!.benchRet!, 12);

    emu.setClock('2026-11-23T11:01');
    await w.runOnce();
    const pnny = db.outcomes(2);
    expect(pnny[0]).toMatchObject({ horizon: '5m', missing: Missing.noBars, bars: 0 });
    expect(pnny[0]).not.toHaveProperty('ret');
    // The 15m window (10:31-10:46) has one minute after the halt.
    expect(pnny[1]).toMatchObject({ horizon: '15m', bars: 1 });

    // A week later every horizon is final and the jobs are gone; running again fetches nothing.
    emu.setClock('2026-12-02T12:00');
    await w.runOnce();
    expect(db.outcomes(1).map((o) => o.horizon)).toEqual(HORIZONS.map((h) => h.name));
    expect(db.outcomes(2)).toHaveLength(HORIZONS.length);
    expect(db.dueJobs(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    const calls = barCalls().length;
    expect(await w.runOnce()).toEqual({ added: 0, computed: 0, failed: 0 });
    expect(barCalls()).toHaveLength(calls);
    expect(errors).toEqual([]);
  });

  it('keeps its cursor and jobs across a restart, and retries a job whose data fetch failed', async () => {
    const { srv, post } = await setup();
    await post({
      symbol: 'AAPL',
      asset_class: 'us_equity',
      action: 'enter',
      direction: 'long',
      price: 200,
      classified_at: ny('2026-11-23T10:00'),
    });
    const first = worker(srv);
    expect((await first.w.runOnce()).added).toBe(1);
    first.db.close();
    const again = worker(srv);
    expect((await again.w.runOnce()).added).toBe(0);
    emu.setClock('2026-11-23T10:20');
    emu.fault({ match: 'GET /v2/stocks/bars', kind: 'status', status: 500, when: 'before' });
    expect(await again.w.runOnce()).toMatchObject({ computed: 0, failed: 1 });
    expect(again.errors).toHaveLength(1);
    // Retried five minutes later.
    emu.setClock('2026-11-23T10:25');
    expect(await again.w.runOnce()).toMatchObject({ computed: 1, failed: 0 });
  });
});
