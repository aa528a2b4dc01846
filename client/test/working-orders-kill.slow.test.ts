import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { clientOrderId } from '../src/order-id.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca/server.js';
import { startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// Working orders across a real SIGKILL: a live us_equity client (real ccxt.alpaca, the emulator's PATCH replace)
// dies right after a replace request went out and before its journal write (CATALYST_TEST_CRASH_AT
// after-replace). The restart finds that replacement by its id, takes the remaining step once and cancels at the
// cap: the broker sees exactly max_reprices replaces.

const YEARS = 10 * 365 * 86_400_000;
const PRELOAD = pathToFileURL(resolve(import.meta.dirname, 'helpers/clock-shift.mjs')).href;
let emu: AlpacaEmulator;
let server: FakeSignalServer;
let dir: string;
let cfg: string;

beforeEach(async () => {
  emu = await startAlpacaEmulator({ now: '2026-11-23T08:00' });
  server = await FakeSignalServer.start({ heartbeatMs: 500 });
  dir = mkdtempSync(join(tmpdir(), 'cc-wokill-'));
  cfg = writeConfig(dir, {
    mode: 'live',
    log_level: 'info',
    server: { url: server.url, start_from: 'all', max_clock_skew_ms: YEARS },
    exchange: { venue: 'us_equity', timeout_ms: 2000, alpaca: { endpoint: 'live', base_url: emu.url } },
    filters: { min_confidence: 0.5, max_signal_age_ms: YEARS },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 5000, max_total_exposure_quote: 9000 },
    equities: { session_policy: 'extended', limit_slippage_pct: 2, reprice_after_ms: 1000, max_reprices: 2 },
    execution: { resend_window_ms: 3_600_000 },
  });
});
afterEach(async () => {
  await server.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('working orders: SIGKILL after a replace request', () => {
  it('the restart never replaces twice and never beyond max_reprices, then cancels', async () => {
    emu.runClock('2026-11-23T08:00');
    emu.setQuote('AAPL', { bid: 200, ask: 200.5 });
    const env = (crash?: string) => ({
      CATALYST_SERVER_KEY: server.key,
      APCA_API_KEY_ID: emu.keyId,
      APCA_API_SECRET_KEY: emu.secret,
      CATALYST_TEST_CRASH_AT: crash,
      NODE_OPTIONS: `--import=${PRELOAD}`,
      TEST_CLOCK_OFFSET_MS: String(emu.now() - Date.now()),
    });
    const calls = (m: string) =>
      emu.requests.filter((r) => r.method === m && r.path.startsWith('/v2/orders'));
    await server.publish({ symbol: 'AAPL', price: 200.25 });

    const first = startClient(['-c', cfg, 'run', '--live'], env('after-replace'), dir);
    await first.waitLog((l) => l['msg'] === 'order recorded', 20_000);
    // The stock runs away above the bound (200.25 + 2%): the working order never fills.
    emu.setQuote('AAPL', { bid: 230, ask: 231 });
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(calls('PATCH')).toHaveLength(1);

    const second = startClient(['-c', cfg, 'run', '--live'], env(), dir);
    await second.waitLog((l) => l['msg'] === 'working order cancelled', 30_000);
    await second.waitLog((l) => l['msg'] === 'order recorded' && l['status'] === 'canceled', 20_000);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    expect(calls('POST')).toHaveLength(1);
    expect(calls('PATCH')).toHaveLength(2);
    expect(calls('DELETE')).toHaveLength(1);
    const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
    try {
      const id = clientOrderId(j.installSalt(), server.epoch, 1, 'entry');
      expect(j.reprices.list(id).map((s) => [s.step, s.order_id, s.state])).toEqual([
        [1, `${id}-r1`, 'done'],
        [2, `${id}-r2`, 'done'],
      ]);
      expect(emu.order(`${id}-r2`)!.status).toBe('canceled');
      expect(j.intent(id)).toMatchObject({ status: 'canceled', filled: 0 });
    } finally {
      j.close();
    }
  });
});
