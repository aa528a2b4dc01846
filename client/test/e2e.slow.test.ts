import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { serverBuilt, startRealServer, type RealServer } from './helpers/real-server.js';

// End to end: real server process -> real client process (live mode, real ccxt.binance) -> Binance emulator.

let emu: BinanceEmulator;
let server: RealServer;
let dir: string;
let readKey: string;
let publishKey: string;

const classification = (n: number, over: object = {}) => ({
  source_id: `e2e-${n}`,
  symbol: 'BTC',
  catalyst: 'earnings',
  direction: 'long',
  confidence: 0.9,
  price: 60000,
  headline: `e2e headline ${n}`,
  classified_at: new Date().toISOString(),
  ...over,
});

describe.skipIf(!serverBuilt())('end to end with the real server', () => {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-e2e-'));
    emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
    server = await startRealServer(join(dir, 'server'));
    readKey = await server.createKey('friend', 'read');
    publishKey = await server.createKey('bot', 'publish');
  });
  afterEach(async () => {
    await server?.stop();
    await emu?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('check, run --live, trade exactly once per accepted signal, replay with another config', async () => {
    const env = {
      CATALYST_SERVER_KEY: readKey,
      CATALYST_EXCHANGE_API_KEY: 'k',
      CATALYST_EXCHANGE_SECRET: 's',
    };
    const cfg = writeConfig(dir, {
      mode: 'live',
      server: { url: server.url, start_from: 'all' },
      exchange: { id: 'binance', base_url: emu.url, timeout_ms: 3000 },
      filters: { min_confidence: 0.5 },
      risk: { cooldown_per_symbol_ms: 0 },
    });

    const check = await runCli(['-c', cfg, 'check', '--live'], env, dir);
    expect(check.stdout).toContain('pinned now');
    expect(check.stdout).toContain('exchange key cannot withdraw');
    expect(check.code, check.stdout + check.stderr).toBe(0);

    expect((await server.publish(publishKey, classification(1))).status).toBe(201);
    const run = startClient(['-c', cfg, 'run', '--live'], env, dir);
    await run.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 1);
    await server.publish(publishKey, classification(2, { symbol: 'ETH', price: 3000, confidence: 0.2 }));
    await server.publish(publishKey, classification(3, { symbol: 'SOL', price: 150 }));
    const dup = await server.publish(publishKey, classification(3, { symbol: 'SOL', price: 150 }));
    expect(dup.body['duplicate']).toBe(true);
    await run.waitLog((l) => l['msg'] === 'order recorded' && String(l['clientOrderId']).endsWith('-3-e'));

    expect(emu.orders.map((o) => o.symbol)).toEqual(['BTCUSDT', 'SOLUSDT']);
    expect(new Set(emu.orders.map((o) => o.clientOrderId)).size).toBe(2);
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    // The real server streams in seq order and its heartbeats never run ahead of what it sent.
    expect(run.logs.filter((l) => /gap|missed signals|reconnecting|lost/.test(String(l['msg'])))).toEqual([]);
    expect(run.logs.filter((l) => l['msg'] === 'subscribing')).toHaveLength(1);

    const hist = JSON.parse((await runCli(['-c', cfg, 'history', '--json'], env, dir)).stdout) as {
      seq: number;
      reason: string;
    }[];
    expect(hist.map((h) => [h.seq, h.reason])).toEqual([
      [3, 'trade:entry'],
      [2, 'skipped:confidence'],
      [1, 'trade:entry'],
    ]);

    // Replay the same history with a stricter config: paper, throwaway journal, signal prices.
    const strict = writeConfig(mkdtempSync(join(dir, 'r-')), {
      server: { url: server.url },
      filters: { symbols_allow: ['SOL'], min_confidence: 0.1 },
    });
    const rep = await runCli(['-c', strict, 'replay', '--from-seq', '0', '--json'], env, dir);
    expect(rep.code, rep.stderr).toBe(0);
    const report = JSON.parse(rep.stdout) as {
      signals: number;
      trades: number;
      byReason: Record<string, number>;
    };
    expect(report.signals).toBe(3);
    expect(report.trades).toBe(1);
    expect(report.byReason['skipped:symbol_not_allowed']).toBe(2);
    expect(rep.stderr).toContain('replay: 3 signals');
  });
});
