import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { serverKeyStatus, pinnedOrFetch } from '../src/keys.js';
import { replay } from '../src/replay.js';
import { createVerifier, fingerprint } from '../src/verify.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { createSigner } from './helpers/signals.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';

let server: FakeSignalServer;
let dir: string;
let journal: Journal;

beforeEach(async () => {
  server = await FakeSignalServer.start();
  dir = mkdtempSync(join(tmpdir(), 'cc-keys-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  journal.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('signing key pin', () => {
  it('pins on first use, accepts the same key, refuses a changed one', async () => {
    const config = testConfig({ server: { url: server.url } });
    const first = await serverKeyStatus(config, journal);
    expect(first.pinned).toBe('new');
    expect(first.fingerprint).toBe(await fingerprint(server.signer.jwk));
    expect((await serverKeyStatus(config, journal)).pinned).toBe('existing');
    server.signer = await createSigner();
    await expect(serverKeyStatus(config, journal)).rejects.toThrow(/CHANGED/);
    // run verifies with the pin, so signals signed by the new key are rejected, never traded
    const pinned = await pinnedOrFetch(config, journal);
    const verify = await createVerifier(pinned.jwk);
    expect((await verify(await server.publish())).ok).toBe(false);
  });

  it('a configured fingerprint must match', async () => {
    const config = testConfig({
      server: { url: server.url, signing_key_fingerprint: 'SHA256:' + 'A'.repeat(43) },
    });
    await expect(serverKeyStatus(config, journal)).rejects.toThrow(/does not match/);
    expect(journal.pinnedKey()).toBeUndefined();
  });

  it('check fails (exit 1) when the server key changed since the pin', async () => {
    const cfg = writeConfig(dir, { server: { url: server.url }, data_dir: './data' });
    const env = { CATALYST_SERVER_KEY: server.key };
    const ok = await runCli(['-c', cfg, 'check'], env, dir);
    expect(ok.stdout).toContain('pinned now');
    expect(ok.stdout).toContain('protocol 2');
    expect(ok.code, ok.stdout).toBe(0);
    server.signer = await createSigner();
    const bad = await runCli(['-c', cfg, 'check'], env, dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL.*CHANGED/);
    const run = await runCli(['-c', cfg, 'run'], env, dir);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('CHANGED');
  });
});

describe('replay', () => {
  it('runs history through the same pipeline, as of each signal, and summarises', async () => {
    const t0 = Date.parse('2026-03-01T10:00:00Z');
    const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
    await server.publish({ symbol: 'BTC', price: 100, ingested_at: at(0), classified_at: at(0) });
    await server.publish({
      symbol: 'BTC',
      price: 120,
      direction: 'short',
      ingested_at: at(30),
      classified_at: at(30),
    });
    await server.publish({
      symbol: 'ETH',
      price: 10,
      confidence: 0.1,
      ingested_at: at(31),
      classified_at: at(31),
    });
    await server.publish(
      { symbol: 'SOL', price: 5, ingested_at: at(32), classified_at: at(32) },
      { badSig: true },
    );
    const config = testConfig({
      server: { url: server.url },
      risk: { short_on_spot: 'sell_holdings' },
      paper: { slippage_pct: 0, fee_rate: 0 },
    });
    const progress: number[] = [];
    const r = await replay({
      config,
      serverKey: server.key,
      afterSeq: 0,
      verify: await createVerifier(server.signer.jwk),
      log: testLog,
      progressEvery: 2,
      onProgress: (p) => progress.push(p.done),
    });
    expect(r.signals).toBe(4);
    expect(r.trades).toBe(2);
    expect(r.rejected).toBe(1);
    expect(r.byReason).toMatchObject({
      'trade:entry': 1,
      'trade:exit': 1,
      'skipped:confidence': 1,
      'rejected:bad_signature': 1,
    });
    // bought 25 USDT of BTC at 100, sold at 120: +5
    expect(r.realizedPnl).toBeCloseTo(5, 6);
    expect(r.endingEquity).toBeCloseTo(1005, 6);
    expect(progress).toEqual([2, 4, 4]);
  });
});
