import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import { progressReporter } from '../src/commands/outcomes.js';
import { OutcomeDb } from '../src/store/outcome-db.js';
import { CLI, runCli } from './helpers/cli.js';
import { classification, startTestServer, tempDir } from './helpers/server.js';
import { pastMonday } from './helpers/track-record.js';
import {
  DEFAULT_ASSETS,
  nyToMs,
  startAlpacaEmulator,
  type AlpacaEmulator,
} from '../../client/test/helpers/alpaca-emulator.js';
import { nyParts } from '../../client/test/helpers/alpaca/clock.js';

// `catalyst-server outcomes backfill` (the built CLI) on an existing data directory whose signals predate
// outcomes: only the range asked for is computed, from the emulator's bars, with plain progress lines when
// stderr is not a terminal; a run killed half-way resumes without refetching what it finished; a running
// server's directory is refused; bad dates are one line.

let emu: AlpacaEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const SECRET_ENV = 'TEST_BACKFILL_SECRET';

async function setup(inRange: number) {
  const now = nyParts(Date.now());
  emu = await startAlpacaEmulator({
    now: `${now.date}T${now.time}`,
    assets: [
      ...DEFAULT_ASSETS,
      { ...DEFAULT_ASSETS[0]!, symbol: 'IWM', name: 'iShares Russell 2000', price: 240 },
    ],
  });
  const day = pastMonday();
  const dir = tempDir();
  const srv = await startTestServer({}, dir);
  const post = async (over: Parameters<typeof classification>[1]) => {
    const res = await srv.post(
      classification(undefined, {
        asset_class: 'us_equity',
        action: 'enter',
        direction: 'long',
        price: 200,
        ...over,
      }),
    );
    return ((await res.json()) as { seq: number }).seq;
  };
  // Three days before the range: never computed.
  const before = await post({
    symbol: 'AAPL',
    classified_at: new Date(nyToMs(`${day}T10:00`) - 3 * 86_400_000).toISOString(),
  });
  const seqs: number[] = [];
  for (let i = 0; i < inRange; i++)
    seqs.push(
      await post({
        symbol: i % 2 ? 'PNNY' : 'AAPL',
        classified_at: new Date(nyToMs(`${day}T10:00`) + i * 37 * 60_000).toISOString(),
      }),
    );
  await post({
    symbol: 'BTC',
    asset_class: 'crypto',
    classified_at: new Date(nyToMs(`${day}T10:00`)).toISOString(),
  });
  await srv.close();
  const config = path.join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      outcomes: { alpaca_key_id: emu.keyId, alpaca_secret_env: SECRET_ENV, data_url: emu.url },
    }),
  );
  const args = ['outcomes', 'backfill', '-c', config, '--data-dir', dir, '--from', day, '--to', day];
  return { dir, day, before, seqs, args, env: { [SECRET_ENV]: emu.secret } };
}

const barCalls = () => emu!.requests.filter((r) => r.path.endsWith('/bars')).length;

describe('outcomes backfill', () => {
  it('computes every horizon of the signals in the range only, with plain progress lines; a second run does nothing', async () => {
    const s = await setup(2);
    const r = await runCli(s.args, { env: s.env });
    expect(r.stderr).toContain('backfill: 0/2 signals (0 %)');
    expect(r.stderr).toContain('backfill: 2/2 signals (100 %)');
    // Not a terminal: plain lines, no carriage returns or escape sequences.
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stdout).toContain('2 new signal(s), 2 job(s) run, 14 horizon figure(s) stored');
    expect(r.code).toBe(0);
    const db = new OutcomeDb(s.dir);
    try {
      for (const seq of s.seqs)
        expect(db.outcomes(seq).map((o) => o.horizon)).toEqual(HORIZONS.map((h) => h.name));
      expect(db.outcomes(s.before)).toEqual([]);
      expect(db.facets({}).map((f) => f.seq)).toEqual(s.seqs);
    } finally {
      db.close();
    }
    expect(emu!.requests.every((q) => q.status === 200)).toBe(true);

    const calls = barCalls();
    const again = await runCli(s.args, { env: s.env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 new signal(s), 0 job(s) run');
    expect(barCalls()).toBe(calls);
  }, 60_000);

  it('resumes after being killed half-way, without redoing the signals it finished', async () => {
    const s = await setup(6);
    // Two calls a minute: the first job or two go through, then the rate gate waits; kill it there.
    const child = spawn(process.execPath, [CLI, ...s.args, '--calls-per-minute', '2'], {
      env: { ...process.env, ...s.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        err += d;
        if (/backfill: [1-5]\/6/.test(err)) resolve();
      });
      child.on('close', () => reject(new Error(`ended before progress: ${err}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const finished = Number(/backfill: ([1-5])\/6/.exec(err)![1]);

    const r = await runCli(s.args, { env: s.env });
    expect(r.code).toBe(0);
    // The killed run's jobs are stored: the second has only the rest to do.
    expect(r.stdout).toContain('0 new signal(s)');
    const ran = Number(/(\d+) job\(s\) run/.exec(r.stdout)![1]);
    expect(ran).toBeLessThanOrEqual(6 - finished);
    const db = new OutcomeDb(s.dir);
    try {
      for (const seq of s.seqs) expect(db.outcomes(seq)).toHaveLength(HORIZONS.length);
    } finally {
      db.close();
    }
  }, 90_000);

  const scriptCmd = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
  it.skipIf(!scriptCmd)(
    `draws a progress bar on a terminal (a pseudo-terminal from util-linux script)${scriptCmd ? '' : ' (skipped: no script(1) here)'}`,
    async () => {
      const s = await setup(2);
      const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
      const cmd = [process.execPath, CLI, ...s.args].map(quote).join(' ');
      const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn(scriptCmd!, ['-qec', cmd, '/dev/null'], {
          env: { ...process.env, ...s.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, out }));
      });
      expect(r.code, r.out).toBe(0);
      // Redrawn in place: carriage returns, the bar, the line cleared to its end; then the summary.
      expect(r.out).toContain('\r[########################] backfill: 2/2 signals (100 %)');
      expect(r.out).toContain('\u001b[K');
      expect(r.out).toContain('2 new signal(s), 2 job(s) run');
    },
    60_000,
  );

  it('refuses a data directory a server is running on, and bad dates, in one line each', async () => {
    const s = await setup(1);
    const srv = await startTestServer({}, s.dir);
    const busy = await runCli(s.args, { env: s.env });
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/in use by another catalyst-server/);
    await srv.close();

    const bad = await runCli([...s.args.slice(0, -4), '--from', 'yesterday'], { env: s.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--from/--to');
    const noBlock = path.join(s.dir, 'empty.json');
    writeFileSync(noBlock, '{}');
    const none = await runCli(['outcomes', 'backfill', '-c', noBlock, '--data-dir', s.dir, '--from', s.day]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs the outcomes block');
  }, 60_000);
});

describe('backfill progress', () => {
  it('draws one bar in place on a terminal, and a line per tenth otherwise', () => {
    let tty = '';
    const bar = progressReporter({ isTTY: true, write: (x: string) => (tty += x) }, () => 0);
    for (let i = 0; i <= 40; i++) bar(i, 40, i > 30 ? 1 : 0);
    bar.end();
    expect(tty.split('\r').length - 1).toBe(41);
    expect(tty).toContain('[########################] backfill: 40/40 signals (100 %), 1 failed');
    expect(tty.endsWith('\n')).toBe(true);
    expect(tty.split('\n')).toHaveLength(2);

    let log = '';
    const lines = progressReporter({ isTTY: false, write: (x: string) => (log += x) }, () => 0);
    for (let i = 0; i <= 1000; i++) lines(i, 1000, 0);
    lines.end();
    const out = log.trim().split('\n');
    expect(out).toHaveLength(11);
    expect(out[0]).toBe('backfill: 0/1000 signals (0 %)');
    expect(out[10]).toBe('backfill: 1000/1000 signals (100 %)');
  });
});
