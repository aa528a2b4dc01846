import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orderState } from '../src/report.js';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// `history` as a person reads it: --verdict takes the words `run` prints, an unknown word is an error (not
// "(no decisions)"), and order lines say "filled" once.

let server: FakeSignalServer;
let dir: string;
let cfg: string;

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-history-'));
  cfg = writeConfig(dir, {
    server: { url: server.url, start_from: 'all' },
    filters: { min_confidence: 0.5 },
  });
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('history', () => {
  it('filters by the words run prints, refuses unknown ones, prints order lines without "filled filled"', async () => {
    await server.publish({ symbol: 'BTC', price: 60000 });
    await server.publish({ symbol: 'ETH', price: 3000, confidence: 0.1 });
    const run = startClient(['-c', cfg, 'run'], {}, dir);
    await run.waitStdout(/^#2 .*$/m);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(run.stdout).toMatch(/^#1 .* TRADED .* filled \(paper\)$/m);
    expect(run.stdout).not.toContain('filled filled');

    for (const word of ['traded', 'TRADED', 'trade']) {
      const r = await runCli(['-c', cfg, 'history', '--verdict', word], {}, dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('trade:entry');
      expect(r.stdout).not.toContain('skipped:');
    }
    const skipped = await runCli(['-c', cfg, 'history', '--verdict', 'skipped'], {}, dir);
    expect(skipped.stdout).toContain('skipped:confidence');
    expect(skipped.stdout).not.toContain('trade:entry');

    const bad = await runCli(['-c', cfg, 'history', '--verdict', 'filled'], {}, dir);
    expect(bad.code).toBe(2); // bad usage
    expect(bad.stderr).toContain('unknown verdict "filled"; use one of: traded, skipped, rejected');
    expect(bad.stdout).not.toContain('(no decisions)');

    const all = await runCli(['-c', cfg, 'history'], {}, dir);
    expect(all.stdout).toMatch(/order \S+ buy [\d.]+ BTC\/USDT filled @ [\d.]+$/m);
    expect(all.stdout).not.toContain('filled filled');
  });

  it('spells out the filled amount only when it is partial', () => {
    const o = { amount: 0.6, error: null };
    expect(orderState({ ...o, status: 'filled', filled: 0.6 })).toBe('filled');
    expect(orderState({ ...o, status: 'open', filled: 0.3 })).toBe('open, 0.3 of 0.6 filled');
    expect(orderState({ ...o, status: 'open', filled: 0 })).toBe('open');
    expect(orderState({ ...o, status: 'rejected', filled: 0, error: 'insufficient balance' })).toBe(
      'rejected (insufficient balance)',
    );
  });
});
