import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { filterSignal } from '../src/decide/filters.js';
import { formatDuration } from '../src/decide/time-text.js';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { testConfig } from './helpers/config.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { baseSignal } from './helpers/signals.js';

// Bad usage is one line and exit 2, checked before any file or socket is opened (no `datatype mismatch` from
// SQLite, no `after_seq=NaN` on the wire); durations a person reads are in units a person reads; Ctrl-C on
// `run` says what the run did and where the next one starts.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-usage-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('option values', () => {
  it.each([
    [['history', '--limit', 'abc'], "option '--limit <n>' argument 'abc' is invalid"],
    [['history', '--limit', '0'], 'expected a whole number from 1 to 100000'],
    [['history', '--limit', '1.5'], 'expected a whole number from 1'],
    [['history', '--limit', '1e3'], 'expected a whole number from 1'],
    [['history', '--since', 'yesterday'], 'expected a duration (30m, 2h, 1d) or an ISO date'],
    [['history', '--verdict', 'filled'], 'unknown verdict "filled"'],
    [['replay', '--from-seq', 'abc'], "option '--from-seq <n>' argument 'abc' is invalid"],
    [['replay', '--from-seq', '-1'], 'expected a whole number from 0 up'],
    [['replay', '--since', 'soon'], 'expected a duration'],
    [['run', '--log-level', 'loud'], 'Allowed choices are fatal, error, warn'],
    [['status', '--bogus'], "unknown option '--bogus'"],
    [['bogus'], "unknown command 'bogus'"],
  ])('%j: exit 2, one line, nothing opened', async (args, text) => {
    writeConfig(dir, { server: { url: 'http://127.0.0.1:9' } });
    const r = await runCli(['-c', 'catalyst.yaml', ...args], { CATALYST_SERVER_KEY: 'cat_x' }, dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^catalyst-client: /);
    expect(r.stderr).toContain(text);
    expect(existsSync(join(dir, 'catalyst-client-data'))).toBe(false);
  });
});

describe('durations a person reads', () => {
  it('formats ms in the largest two units', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4_250)).toBe('4.2 s');
    expect(formatDuration(42_999)).toBe('42 s');
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(551_307)).toBe('9m 11s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000 + 59_000)).toBe('2h 5m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d 4h');
    expect(formatDuration(-1500)).toBe('-1.5 s');
  });

  it('a stale signal says its age as a duration, not 551307 ms', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    const signal = { ...baseSignal(1, {}, now - 551_307), sig: 'x' } as Signal;
    const f = testConfig({ filters: { max_signal_age_ms: 300_000 } }).filters;
    expect(filterSignal(signal, now, f)).toEqual({ reason: 'skipped:stale', detail: 'age 9m 11s > 5m' });
  });
});

describe('Ctrl-C on run', () => {
  let server: FakeSignalServer;
  afterEach(async () => server.close());

  it('prints one line: how many signals this run decided and the seq the next run resumes after', async () => {
    server = await FakeSignalServer.start({ heartbeatMs: 1000 });
    writeConfig(dir, { server: { url: server.url, start_from: 'all' } });
    writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
    await server.publish({ symbol: 'BTC', price: 60000 });
    await server.publish({ symbol: 'ETH', price: 3000 });
    const run = startClient(['-c', 'catalyst.yaml', 'run'], {}, dir);
    await run.waitStdout(/waiting for signals\n/);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    expect(run.stdout).toMatch(
      /\nstopped \(Ctrl-C\): 2 signals decided, the next run resumes after seq 2\n$/,
    );

    const again = startClient(['-c', 'catalyst.yaml', 'run'], {}, dir);
    await again.waitStdout(/waiting for signals\n/);
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    expect(again.stdout).toMatch(
      /\nstopped \(SIGTERM\): 0 signals decided, the next run resumes after seq 2\n$/,
    );
  });
});
