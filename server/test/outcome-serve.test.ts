import { afterEach, describe, expect, it, vi } from 'vitest';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import { OutcomeDb } from '../src/store/outcome-db.js';
import { classification, startTestServer } from './helpers/server.js';
import {
  nyToMs,
  startAlpacaEmulator,
  type AlpacaEmulator,
} from '../../client/test/helpers/alpaca-emulator.js';
import { nyParts } from '../../client/test/helpers/alpaca/clock.js';

// `serve` with an `outcomes` block computes outcomes on its own (real clock): a signal two weeks old gets all
// seven horizons from the emulator's bars, and the server closes cleanly with the worker running.

let emu: AlpacaEmulator | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await emu?.close();
});

/** A Monday at least two weeks before today, 10:00 New York: every horizon has passed, on any date. */
function pastMonday(): string {
  const d = new Date(Date.now() - 14 * 86_400_000);
  d.setUTCDate(d.getUTCDate() + ((8 - d.getUTCDay()) % 7));
  return `${d.toISOString().slice(0, 10)}T10:00`;
}

describe('serve with outcomes', () => {
  it('computes every horizon of a us_equity signal from Alpaca bars, and stops with the server', async () => {
    const now = nyParts(Date.now());
    emu = await startAlpacaEmulator({ now: `${now.date}T${now.time}` });
    // The secret comes from the environment variable the config names, never from the config file.
    vi.stubEnv('TEST_APCA_SECRET', emu.secret);
    const srv = await startTestServer({
      outcomes: {
        alpaca_key_id: emu.keyId,
        alpaca_secret_env: 'TEST_APCA_SECRET',
        data_url: emu.url,
        interval_s: 1,
      },
    });
    const at = pastMonday();
    const res = await srv.post(
      classification(1, {
        symbol: 'AAPL',
        asset_class: 'us_equity',
        action: 'enter',
        direction: 'long',
        price: 200,
        classified_at: new Date(nyToMs(at)).toISOString(),
      }),
    );
    expect(res.status).toBe(201);
    const db = new OutcomeDb(srv.dataDir);
    try {
      await vi.waitFor(() => expect(db.outcomes(1)).toHaveLength(HORIZONS.length), {
        timeout: 15_000,
        interval: 100,
      });
      const five = db.outcomes(1)[0]!;
      expect(five.horizon).toBe('5m');
      // At the signal, unless that Monday was a holiday (then the next session's first minutes).
      expect(five.start).toBeGreaterThanOrEqual(nyToMs(at));
      expect(five.end! - five.start!).toBe(5 * 60_000);
      expect(five.bars).toBeGreaterThan(0);
      expect(emu.requests.every((r) => r.status === 200)).toBe(true);
      expect(emu.requests.some((r) => r.query['feed'] === 'sip')).toBe(true);
    } finally {
      db.close();
    }
    await srv.close();
  });

  it('refuses an outcomes block without its secret in the environment, naming the variable', async () => {
    vi.stubEnv('APCA_API_SECRET_KEY', '');
    await expect(startTestServer({ outcomes: { alpaca_key_id: 'k' } as never })).rejects.toThrow(
      /set APCA_API_SECRET_KEY to the Alpaca secret key/,
    );
    // A secret written into the config file is refused, not used.
    await expect(
      startTestServer({ outcomes: { alpaca_key_id: 'k', alpaca_secret: 's' } as never }),
    ).rejects.toThrow(/configuration/);
  });
});
