import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// The demo path: a paper client with NO exchange and no network beyond the signal server, driven through the
// built CLI: run, status, history, pause/resume, clean SIGTERM shutdown, secrets from .env never logged.

let server: FakeSignalServer;
let dir: string;
let configPath: string;

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-paper-'));
  configPath = writeConfig(dir, {
    server: { url: server.url, start_from: 'all' },
    filters: { min_confidence: 0.5 },
    risk: { cooldown_per_symbol_ms: 0 },
  });
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('paper run, offline', () => {
  it('trades at signal prices, journals every decision, obeys pause, shuts down cleanly', async () => {
    await server.publish({ symbol: 'BTC', price: 60000 });
    await server.publish({ symbol: 'ETH', price: 3000, confidence: 0.1 });
    await server.publish({ symbol: 'SOL', price: 150, confidence: 0.2 });
    const run = startClient(['-c', configPath, 'run'], {}, dir);
    await run.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 3);

    const paused = await runCli(['-c', configPath, 'pause', '--reason', 'test'], {}, dir);
    expect(paused.code).toBe(0);
    await server.publish({ symbol: 'ETH', price: 3000 });
    const d4 = await run.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 4);
    expect(d4['reason']).toBe('skipped:kill_switch');
    await runCli(['-c', configPath, 'resume'], {}, dir);
    await server.publish({ symbol: 'ETH', price: 3000 });
    const d5 = await run.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 5);
    expect(d5['reason']).toBe('trade:entry');

    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(run.logs.some((l) => l['msg'] === 'stopped; cursor persisted')).toBe(true);
    expect(JSON.stringify(run.logs)).not.toContain(server.key);

    const status = JSON.parse((await runCli(['-c', configPath, 'status', '--json'], {}, dir)).stdout);
    expect(status.cursor).toEqual({ epoch: 'ep-test', seq: 5 });
    expect(status.positions.map((p: { market: string }) => p.market)).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(status.today.orders).toBe(2);
    expect(status.paper_balances.USDT).toBeLessThan(1000 - 49);
    expect(status.pinned_key).toMatch(/^SHA256:/);

    const history = JSON.parse((await runCli(['-c', configPath, 'history', '--json'], {}, dir)).stdout);
    const reasons = Object.fromEntries(
      history.map((h: { seq: number; reason: string }) => [h.seq, h.reason]),
    );
    expect(reasons).toEqual({
      1: 'trade:entry',
      2: 'skipped:confidence',
      3: 'skipped:confidence',
      4: 'skipped:kill_switch',
      5: 'trade:entry',
    });
    const btc = history.find((h: { seq: number }) => h.seq === 1);
    expect(btc.orders[0]).toMatchObject({ status: 'filled', market: 'BTC/USDT' });
    // paper fill: signal price plus the simulated slippage
    expect(btc.orders[0].avg_price).toBeCloseTo(60000 * 1.0005, 6);

    const filtered = await runCli(['-c', configPath, 'history', '--verdict', 'skip'], {}, dir);
    expect(filtered.stdout).toContain('skipped:confidence');
    expect(filtered.stdout).not.toContain('trade:entry');

    // restart resumes from the cursor: nothing re-decided
    const again = startClient(['-c', configPath, 'run'], {}, dir);
    await server.publish({ symbol: 'BTC', price: 61000 });
    const d6 = await again.waitLog((l) => l['msg'] === 'decision' && l['seq'] === 6);
    expect(again.logs.filter((l) => l['msg'] === 'decision').map((l) => l['seq'])).toEqual([6]);
    expect(d6['verdict']).toBe('trade');
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('a signal that fails verification stops the run (exit 3): not decided, not skipped, cursor before it', async () => {
    await server.publish({ symbol: 'BTC', price: 60000 });
    await server.publish({ symbol: 'SOL', price: 150 }, { badSig: true });
    const run = startClient(['-c', configPath, 'run'], {}, dir);
    const exited = await run.exited;
    expect(exited.code).toBe(3);
    const fatal = run.logs.find((l) => l['msg'] === 'TRADING STOPPED');
    expect(String(fatal?.['err'])).toContain('signal seq 2 failed verification from every server');
    expect(run.logs.filter((l) => l['msg'] === 'decision').map((l) => l['seq'])).toEqual([1]);
    const status = JSON.parse((await runCli(['-c', configPath, 'status', '--json'], {}, dir)).stdout);
    expect(status.cursor).toEqual({ epoch: 'ep-test', seq: 1 });
  });

  it('refuses --live unless the config says live too, and reports config errors all at once', async () => {
    const r = await runCli(['-c', configPath, 'run', '--live'], {}, dir);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('--live needs `mode: live`');
    const bad = writeConfig(dir, {
      mode: 'yolo',
      sizing: { fixed_quote: -1 },
      risk: { max_open_positions: 1.5 },
    });
    const b = await runCli(['-c', bad, 'check'], {}, dir);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('mode');
    expect(b.stderr).toContain('sizing.fixed_quote');
    expect(b.stderr).toContain('risk.max_open_positions');
  });
});
