import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// A halt names the exact commands that start trading again, with the --config path the person gave; accepting
// a new epoch clears the halt but never turns trading back on (the kill switch goes or stays on).

let server: FakeSignalServer;
let dir: string;
const servers: FakeSignalServer[] = [];

const cmd = (args: string) => `\`npx --no -- catalyst-client --config catalyst.yaml ${args}\``;
const cli = (...args: string[]) => runCli(['--config', 'catalyst.yaml', ...args], {}, dir);
const status = async () => JSON.parse((await cli('status', '--json')).stdout);

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  servers.push(server);
  dir = mkdtempSync(join(tmpdir(), 'cc-halt-'));
  writeConfig(dir, { server: { url: server.url, start_from: 'all' } });
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function haltOnNewEpoch() {
  await server.publish({ symbol: 'BTC', price: 60000 });
  const run = startClient(['--config', 'catalyst.yaml', 'run'], {}, dir);
  await run.waitStdout(/^#1 /m);
  server.reset('ep-new');
  await server.publish({ symbol: 'ETH', price: 3000 });
  return run;
}

describe('halts and their recovery', () => {
  it('exit 3 and exit 4 name accept-new-epoch then resume; accepting keeps trading paused', async () => {
    const run = await haltOnNewEpoch();
    expect((await run.exited).code).toBe(3);
    const stderrLast = run.logs.filter((l) => l['raw']).map((l) => String(l['msg']));
    const stop = stderrLast.find((l) => l.startsWith('catalyst-client: TRADING STOPPED'));
    expect(stop).toBeDefined();
    expect(stop).toContain(`run: ${cmd('resume --accept-new-epoch')}, then ${cmd('resume')}`);
    // Said once: not again on stdout without its recovery (a terminal showed it there as well).
    expect(run.stdout).not.toContain('TRADING STOPPED');

    const again = await cli('run');
    expect(again.code).toBe(4);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('HALTED: ');
    expect(again.stderr).toContain(`run: ${cmd('resume --accept-new-epoch')}, then ${cmd('resume')}`);
    expect((await cli('status')).stdout).toContain(cmd('resume --accept-new-epoch'));

    // The kill switch was off when the halt came: accepting turns it on, it does not trade.
    const accept = await cli('resume', '--accept-new-epoch');
    expect(accept.code, accept.stderr).toBe(0);
    expect(accept.stdout).toContain('halt cleared');
    expect(accept.stdout).toContain(`to trade again, run: ${cmd('resume').slice(1, -1)}`);
    let s = await status();
    expect(s.halted).toBeNull();
    expect(s.kill_switch.on).toBe(true);
    expect(s.cursor).toEqual({ seq: 0 }); // no epoch: the next run starts like a fresh install

    const resumed = await cli('resume');
    expect(resumed.stdout).toBe('kill switch off\n');
    s = await status();
    expect(s.kill_switch.on).toBe(false);
  });

  it('accepting an epoch leaves an operator pause on', async () => {
    const run = await haltOnNewEpoch();
    expect((await run.exited).code).toBe(3);
    expect((await cli('pause', '--reason', 'holiday')).code).toBe(0);
    const accept = await cli('resume', '--accept-new-epoch');
    expect(accept.code, accept.stderr).toBe(0);
    const s = await status();
    expect(s.halted).toBeNull();
    expect(s.kill_switch).toMatchObject({ on: true, reason: expect.stringContaining('holiday') });
  });

  it('exit 5 names pin --replace then run', async () => {
    await server.publish({ symbol: 'BTC', price: 60000 });
    expect((await cli('pin')).code).toBe(0);
    // Another server (another signing key) at the configured URL's place.
    const other = await FakeSignalServer.start({ heartbeatMs: 1000, key: server.key });
    servers.push(other);
    writeConfig(dir, { server: { url: other.url, start_from: 'all' } });
    const r = await cli('run');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('server signing key CHANGED');
    expect(r.stderr).toContain(
      `run: ${cmd('pin --replace --fingerprint <the fingerprint the operator gave you>')}, then ${cmd('run')}`,
    );
  });
});
