import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca/server.js';
import { startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// equities.outside_positions: adopt through the real `run --live` (real ccxt.alpaca against the emulator, the
// broker's stream followed): the first start adopts the shares held at the broker, a restart adopts nothing again,
// and an exit signal then sells exactly the adopted shares.

const YEARS = 10 * 365 * 86_400_000;
const PRELOAD = pathToFileURL(resolve(import.meta.dirname, 'helpers/clock-shift.mjs')).href;
let emu: AlpacaEmulator;
let server: FakeSignalServer;
let dir: string;
let cfg: string;

beforeEach(async () => {
  emu = await startAlpacaEmulator({ now: '2026-11-23T10:00' });
  server = await FakeSignalServer.start({ heartbeatMs: 500 });
  dir = mkdtempSync(join(tmpdir(), 'cc-adoptrun-'));
  cfg = writeConfig(dir, {
    mode: 'live',
    log_level: 'info',
    server: { url: server.url, start_from: 'all', max_clock_skew_ms: YEARS },
    exchange: { venue: 'us_equity', timeout_ms: 2000, alpaca: { endpoint: 'live', base_url: emu.url } },
    filters: { min_confidence: 0.5, max_signal_age_ms: YEARS },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 5000, max_total_exposure_quote: 9000 },
    equities: { outside_positions: 'adopt' },
  });
});
afterEach(async () => {
  await server.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('outside_positions: adopt, run --live', () => {
  it('adopts at the first start only; an exit signal after a restart sells the adopted shares', async () => {
    emu.runClock('2026-11-23T10:00');
    emu.setPosition('LOWP', 10, 3);
    const env = {
      CATALYST_SERVER_KEY: server.key,
      APCA_API_KEY_ID: emu.keyId,
      APCA_API_SECRET_KEY: emu.secret,
      NODE_OPTIONS: `--import=${PRELOAD}`,
      TEST_CLOCK_OFFSET_MS: String(emu.now() - Date.now()),
    };
    const first = startClient(['-c', cfg, 'run', '--live'], env, dir);
    const adopted = await first.waitLog((l) => String(l['msg']).startsWith('adopted 10 LOWP'), 30_000);
    expect(adopted).toMatchObject({ symbol: 'LOWP', qty: 10, avgPrice: 3 });
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = startClient(['-c', cfg, 'run', '--live'], env, dir);
    await server.publish({ symbol: 'LOWP', price: 3.2, action: 'exit' });
    await second.waitLog((l) => l['msg'] === 'order recorded', 30_000);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(second.logs.filter((l) => String(l['msg']).startsWith('adopted'))).toEqual([]);

    const sells = emu.requests.filter((r) => r.method === 'POST' && r.path === '/v2/orders');
    expect(sells.map((r) => r.body)).toMatchObject([{ symbol: 'LOWP', side: 'sell', qty: '10' }]);
    const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
    try {
      expect(j.adoptions()).toMatchObject([{ symbol: 'LOWP', qty: 10, avg_price: 3 }]);
    } finally {
      j.close();
    }
  });
});
