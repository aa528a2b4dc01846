import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startClient, writeConfig, type ClientProc } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// One `run` per journal: a second one is refused (exit 4) naming the first one's pid, read-only commands and
// the kill switch keep working beside it, and a runner killed with SIGKILL leaves no lock behind.

let server: FakeSignalServer;
let dir: string;
let cfg: string;
const procs: ClientProc[] = [];

const start = (args: string[]) => {
  const p = startClient(['-c', cfg, ...args], {}, dir);
  procs.push(p);
  return p;
};

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-runlock-'));
  cfg = writeConfig(dir, { server: { url: server.url, start_from: 'all' } });
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
});
afterEach(async () => {
  for (const p of procs.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('run holds the journal', () => {
  it('refuses a second run with the pid, lets status/history/dashboard/pause/resume work, and kill -9 frees it', async () => {
    await server.publish({ symbol: 'BTC', price: 60000 });
    const first = start(['run']);
    await first.waitStdout(/connected to .*waiting for signals\n/);
    const pidFile = join(dir, 'catalyst-client-data', 'run.pid');
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(first.child.pid));

    const second = await runCli(['-c', cfg, 'run'], {}, dir);
    expect(second.code).toBe(4);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(/refused to start: journal .* in use by another catalyst-client run/);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);

    const status = await runCli(['-c', cfg, 'status'], {}, dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/last seq 1/);
    const history = await runCli(['-c', cfg, 'history'], {}, dir);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('#1');
    const dash = start(['dashboard']);
    await dash.waitStdout(/dashboard: /);
    dash.child.kill('SIGINT');
    expect(await dash.exited).toEqual({ code: 0, signal: null });

    expect((await runCli(['-c', cfg, 'pause', '--reason', 'lunch'], {}, dir)).code).toBe(0);
    expect((await runCli(['-c', cfg, 'status'], {}, dir)).stdout).toContain('PAUSED: lunch');
    expect((await runCli(['-c', cfg, 'resume'], {}, dir)).code).toBe(0);
    expect((await runCli(['-c', cfg, 'status'], {}, dir)).stdout).not.toContain('PAUSED');
    // The running client still decides: it sees the switch through the journal.
    await server.publish({ symbol: 'ETH', price: 3000 });
    await first.waitStdout(/^#2 /m);

    // SIGKILL: no handler runs, the pid file stays behind, yet the kernel has dropped the lock.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(pidFile)).toBe(true);
    const third = start(['run']);
    await third.waitStdout(/connected to .*waiting for signals\n/);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(third.child.pid));
    third.child.kill('SIGINT');
    expect((await third.exited).code).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });
});
