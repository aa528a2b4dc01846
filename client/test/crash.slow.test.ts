import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { clientOrderId } from '../src/order-id.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// The client process is SIGKILLed at chosen points of the order path; after a restart every accepted signal
// has exactly one order on the exchange.

let emu: BinanceEmulator;
let server: FakeSignalServer;
let dir: string;
let configPath: string;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-crash-'));
  configPath = writeConfig(dir, {
    mode: 'live',
    log_level: 'info',
    server: { url: server.url, start_from: 'all' },
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
    filters: { min_confidence: 0.5 },
    risk: { cooldown_per_symbol_ms: 0 },
  });
});
afterEach(async () => {
  await server.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (crash?: string) => ({
  CATALYST_SERVER_KEY: server.key,
  CATALYST_EXCHANGE_API_KEY: 'k',
  CATALYST_EXCHANGE_SECRET: 's',
  CATALYST_TEST_CRASH_AT: crash,
});

describe.each(['after-intent', 'after-send'])('SIGKILL %s', (point) => {
  it('restart leaves exactly one order per accepted signal', async () => {
    for (const symbol of ['BTC', 'ETH', 'SOL'])
      await server.publish({ symbol, price: emu.markets.get(`${symbol}USDT`)!.price });

    const first = startClient(['-c', configPath, 'run', '--live'], env(point), dir);
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(emu.orders).toHaveLength(point === 'after-send' ? 1 : 0);

    const second = startClient(['-c', configPath, 'run', '--live'], env(), dir);
    await emu.waitForOrders(3);
    await second.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 3);
    await second.waitLog((l) => l['msg'] === 'order recorded' && String(l['clientOrderId']).endsWith('-3-e'));
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
    try {
      const salt = j.installSalt();
      for (const seq of [1, 2, 3]) {
        const id = clientOrderId(salt, server.epoch, seq, 'entry');
        expect(emu.ordersFor(id), `orders for seq ${seq}`).toHaveLength(1);
        expect(j.intent(id)!.status).toBe('filled');
      }
      expect(emu.orders).toHaveLength(3);
      expect(j.cursor().seq).toBe(3);
      expect(j.openIntents()).toHaveLength(0);
    } finally {
      j.close();
    }
  });
});

describe('clean shutdown', () => {
  it('SIGTERM while an order is in flight: waits for the reply, records it, persists the cursor, exits 0', async () => {
    await server.publish({ symbol: 'BTC', price: 60000 });
    emu.delayOrderReplies(1000);
    const run = startClient(['-c', configPath, 'run', '--live'], env(), dir);
    await emu.waitForOrders(1);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
    try {
      const id = clientOrderId(j.installSalt(), server.epoch, 1, 'entry');
      expect(j.intent(id)!.status).toBe('filled');
      expect(j.cursor().seq).toBe(1);
      expect(emu.orders).toHaveLength(1);
    } finally {
      j.close();
    }
  });
});
