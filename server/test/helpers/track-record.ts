import { vi } from 'vitest';
import { builtinCalendar } from '@catalyst-signal/shared/calendar';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import { OutcomeDb } from '../../src/store/outcome-db.js';
import { classification, startTestServer, type TestServer } from './server.js';
// The project's Alpaca emulator (with the client's tests): seeded 1-minute bars, halts, the data API's limits.
import {
  DEFAULT_ASSETS,
  nyToMs,
  startAlpacaEmulator,
  type AlpacaEmulator,
} from '../../../client/test/helpers/alpaca-emulator.js';
import { nyParts } from '../../../client/test/helpers/alpaca/clock.js';

/** A trading Monday at least two weeks before today (New York date): every horizon has passed. */
export function pastMonday(): string {
  const d = new Date(Date.now() - 14 * 86_400_000);
  d.setUTCDate(d.getUTCDate() + ((8 - d.getUTCDay()) % 7));
  // Not a Monday holiday (the halt and the sessions below are set on that day).
  for (;;) {
    const date = d.toISOString().slice(0, 10);
    if (builtinCalendar(d.getTime(), 2).some((c) => c.date === date)) return date;
    d.setUTCDate(d.getUTCDate() - 7);
  }
}

export interface TrackRecordFixture {
  srv: TestServer;
  emu: AlpacaEmulator;
  /** seq by name. */
  seqs: { fda: number; avoid: number; halted: number; info: number; crypto: number };
  day: string;
  db: OutcomeDb;
  close(): Promise<void>;
}

/**
 * A real server whose own outcome worker (serve's, on the real clock) computes outcomes from the emulator's
 * bars for a few signals two weeks old: an fda entry with levels, an earnings avoid, an entry inside a halt
 * (5m: no trade), a pre-market info, and a crypto signal (no outcome). Resolves once every horizon is stored.
 * The caller sets and unstubs the environment (vi.unstubAllEnvs in afterEach).
 */
export async function startTrackRecordFixture(): Promise<TrackRecordFixture> {
  const now = nyParts(Date.now());
  const day = pastMonday();
  const emu = await startAlpacaEmulator({
    now: `${now.date}T${now.time}`,
    assets: [
      ...DEFAULT_ASSETS,
      { ...DEFAULT_ASSETS[0]!, symbol: 'IWM', name: 'iShares Russell 2000', price: 240 },
    ],
    bars: { halts: [{ symbol: 'PNNY', from: `${day}T10:30`, to: `${day}T10:45` }] },
  });
  vi.stubEnv('TEST_APCA_SECRET', emu.secret);
  const srv = await startTestServer({
    outcomes: {
      alpaca_key_id: emu.keyId,
      alpaca_secret_env: 'TEST_APCA_SECRET',
      data_url: emu.url,
      interval_s: 1,
    },
  });
  const at = (hm: string) => new Date(nyToMs(`${day}T${hm}`)).toISOString();
  const post = async (over: Parameters<typeof classification>[1]) => {
    const res = await srv.post(classification(undefined, over));
    if (res.status !== 201) throw new Error(`post: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { seq: number }).seq;
  };
  const equity = { asset_class: 'us_equity' as const };
  const seqs = {
    fda: await post({
      ...equity,
      symbol: 'AAPL',
      catalyst: 'fda',
      action: 'enter',
      direction: 'long',
      confidence: 0.85,
      keywords: ['fda', 'approval'],
      source: 'businesswire',
      price: 200,
      stop_loss: 196,
      take_profit: 206,
      classified_at: at('10:00'),
    }),
    avoid: await post({
      ...equity,
      symbol: 'AAPL',
      catalyst: 'earnings',
      action: 'avoid',
      direction: 'long',
      confidence: 0.65,
      price: 200,
      classified_at: at('11:00'),
    }),
    halted: await post({
      ...equity,
      symbol: 'PNNY',
      catalyst: 'offering',
      action: 'enter',
      direction: 'long',
      confidence: 0.72,
      price: 0.5,
      classified_at: at('10:31'),
    }),
    info: await post({
      ...equity,
      symbol: 'AAPL',
      catalyst: 'analyst',
      action: 'info',
      confidence: 0.55,
      price: 200,
      classified_at: at('08:00'),
    }),
    crypto: await post({
      symbol: 'BTC',
      asset_class: 'crypto',
      catalyst: 'other',
      direction: 'long',
      price: 90_000,
      classified_at: at('10:00'),
    }),
  };
  const db = new OutcomeDb(srv.dataDir);
  await vi.waitFor(
    () => {
      for (const s of [seqs.fda, seqs.avoid, seqs.halted, seqs.info])
        if (db.outcomes(s).length !== HORIZONS.length) throw new Error(`seq ${s} not done`);
    },
    { timeout: 30_000, interval: 100 },
  );
  return {
    srv,
    emu,
    seqs,
    day,
    db,
    close: async () => {
      db.close();
      await srv.close();
      await emu.close();
    },
  };
}
