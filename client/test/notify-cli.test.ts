import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { ServiceServer } from './helpers/notify-services.js';

// The built CLI against local notification services: `notify test` reports per target, and a halt (exit 3, 5)
// is delivered with its recovery command before the process exits, then shown by `status`. Secrets come from
// .env and appear in no output.

const NTFY_TOKEN = 'tk_ntfySECRET0001';
const TG_TOKEN = '123456:TGsecretTOKEN';
const HOOK_KEY = 'hook-SECRET-key-77';

let dir: string;
const servers: { close(): Promise<void> }[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-notify-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function service(kind: ServiceServer['kind']) {
  const s = await ServiceServer.start(kind);
  servers.push(s);
  return s;
}
async function signalServer() {
  const s = await FakeSignalServer.start({ heartbeatMs: 1000 });
  servers.push(s);
  return s;
}

const cli = (...args: string[]) => runCli(['--config', 'catalyst.yaml', ...args], {}, dir);
const cmd = (args: string) => `\`npx --no -- catalyst-client --config catalyst.yaml ${args}\``;
const noSecret = (text: string) => {
  for (const s of [NTFY_TOKEN, TG_TOKEN, HOOK_KEY, 'TGsecretTOKEN']) expect(text).not.toContain(s);
};

function env(extra = '') {
  writeFileSync(
    join(dir, '.env'),
    `NTFY_TOKEN=${NTFY_TOKEN}\nTG_TOKEN=${TG_TOKEN}\nHOOK_KEY=${HOOK_KEY}\n${extra}`,
  );
}

describe('catalyst-client notify test', () => {
  it('sends one message to each target and reports each; a failing one makes it exit 1', async () => {
    const [ntfy, tg, json] = await Promise.all([service('ntfy'), service('telegram'), service('json')]);
    json.script.push({ status: 403, body: { error: `key ${HOOK_KEY} refused` } });
    env();
    writeConfig(dir, {
      notify: [
        { url: `ntfy://${ntfy.host}/friend?token=\${NTFY_TOKEN}` },
        { url: 'tgram://${TG_TOKEN}/555', api_base_url: tg.url },
        { url: `json://${json.host}/hook?+X-Api-Key=\${HOOK_KEY}`, events: ['trading_stopped'] },
      ],
    });
    const r = await cli('notify', 'test');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(`ok      ntfy://${ntfy.host}/***`);
    expect(r.stdout).toContain('ok      tgram://***/555');
    expect(r.stdout).toContain(`FAILED  json://${json.host}/hook: HTTP 403`);
    expect(r.stdout).toContain('1 of 3 targets failed');
    noSecret(r.stdout + r.stderr);
    expect(ntfy.delivered[0]!.headers.authorization).toBe(`Bearer ${NTFY_TOKEN}`);
    expect(ntfy.delivered[0]!.body['title']).toBe('catalyst-client: test notification');
    expect(tg.delivered[0]!.path).toBe(`/bot${TG_TOKEN}/sendMessage`);
    expect(json.received[0]!.headers['x-api-key']).toBe(HOOK_KEY);

    const ok = await cli('notify', 'test');
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('all 3 targets answered');
  });

  it('an unset ${VAR} is a failed target, named; no targets at all is a usage error', async () => {
    writeConfig(dir, { notify: [{ url: 'tgram://${NOPE}/1' }] });
    const r = await cli('notify', 'test');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAILED  notify[0]: notify[0].url: ${NOPE} is not set (environment or .env)');
    writeConfig(dir, {});
    const none = await cli('notify', 'test');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no notification targets');
  });
});

describe('a halt is told before the client exits', () => {
  it('exit 5 (server signing key changed): the JSON webhook gets it with the recovery command; status shows it', async () => {
    const [server, json] = await Promise.all([signalServer(), service('json')]);
    env(`CATALYST_SERVER_KEY=${server.key}\n`);
    writeConfig(dir, { server: { url: server.url } });
    expect((await cli('pin')).code).toBe(0);
    const other = await FakeSignalServer.start({ heartbeatMs: 1000, key: server.key });
    servers.push(other);
    writeConfig(dir, {
      server: { url: other.url },
      notify: [{ url: `json://${json.host}/hook?+X-Api-Key=\${HOOK_KEY}`, events: ['trading_stopped'] }],
    });
    const r = await cli('run');
    expect(r.code).toBe(5);
    // Delivered before the exit: the request is already recorded when the process is gone.
    expect(json.delivered).toHaveLength(1);
    const m = json.delivered[0]!.body;
    expect(m).toMatchObject({ kind: 'trading_stopped', priority: 5, type: 'failure' });
    expect(m['title']).toBe('catalyst-client TRADING STOPPED (exit 5)');
    expect(m['message']).toContain('server signing key CHANGED');
    expect(m['message']).toContain(
      `run: ${cmd('pin --replace --fingerprint <the fingerprint the operator gave you>')}, then ${cmd('run')}`,
    );
    noSecret(r.stdout + r.stderr);

    const status = await cli('status');
    expect(status.stdout).toMatch(/STOPPED \S+ \(exit 5\): server signing key CHANGED/);
    expect(status.stdout).toContain(`run: ${cmd('pin --replace --fingerprint').slice(0, -1)}`);
    expect(status.stdout).toMatch(/json:\/\/127\.0\.0\.1:\d+\/hook {2}sent 1 {2}failed 0/);
    const js = JSON.parse((await cli('status', '--json')).stdout);
    expect(js.last_halt).toMatchObject({ exit: 5 });
    expect(js.notifications[0]).toMatchObject({ sent: 1, failed: 0 });
  });

  it('exit 3 (new server epoch) reaches ntfy with accept-new-epoch; the next refused run (4) too', async () => {
    const [server, ntfy] = await Promise.all([signalServer(), service('ntfy')]);
    env(`CATALYST_SERVER_KEY=${server.key}\n`);
    writeConfig(dir, {
      server: { url: server.url, start_from: 'all' },
      notify: [{ url: `ntfy://${ntfy.host}/friend?token=\${NTFY_TOKEN}`, min_priority: 5 }],
    });
    await server.publish({ symbol: 'BTC', price: 60000 });
    const run = startClient(['--config', 'catalyst.yaml', 'run'], {}, dir);
    await run.waitStdout(/^#1 /m);
    server.reset('ep-new');
    await server.publish({ symbol: 'ETH', price: 3000 });
    expect((await run.exited).code).toBe(3);
    expect(ntfy.delivered).toHaveLength(1);
    const m = ntfy.delivered[0]!;
    expect(m.headers.authorization).toBe(`Bearer ${NTFY_TOKEN}`);
    expect(m.body).toMatchObject({
      topic: 'friend',
      priority: 5,
      title: 'catalyst-client TRADING STOPPED (exit 3)',
    });
    expect(m.body['message']).toContain(`run: ${cmd('resume --accept-new-epoch')}, then ${cmd('resume')}`);
    noSecret(JSON.stringify(run.logs) + run.stdout);

    const again = await cli('run');
    expect(again.code).toBe(4);
    await ntfy.waitDelivered(2);
    expect(ntfy.delivered[1]!.body['title']).toBe('catalyst-client refused to start (exit 4)');
    expect((await cli('status')).stdout).toMatch(/STOPPED \S+ \(exit 4\): HALTED: /);
  });
});
