import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLI, cliKey, dataDir, runCli, spawnServer } from './helpers/cli.js';
import { classification, startTestServer } from './helpers/server.js';

/** A port that was free a moment ago (bound on 0 by the kernel, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

type Outcome = { listening: true } | { listening: false; code: number | null; stderr: string };

/** Run `serve` and report whether it came up (then kill it) or exited, and how. */
function serveOutcome(args: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"msg":"listening"')) {
        child.kill('SIGKILL');
        resolve({ listening: true });
      }
    });
    child.on('close', (code) => resolve({ listening: false, code, stderr }));
  });
}

describe('one server per port and per data directory', () => {
  it('a second serve on a port in use (another data dir) fails loudly instead of sharing the port', async () => {
    // A port picked by the kernel, then given to the first server explicitly: Linux lets two SO_REUSEPORT
    // sockets share a port named explicitly (what `npm start` on 8787 does), not one bound as port 0.
    const port = await freePort();
    const first = await spawnServer(dataDir(), ['--port', String(port)]);
    expect(first.port).toBe(port);
    const second = await serveOutcome(['--data-dir', dataDir(), '--port', String(first.port)]);
    expect(second.listening).toBe(false);
    if (second.listening) return;
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`port ${first.port} on 127.0.0.1 is already in use`);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it('a second serve on the same data directory exits non-zero naming the pid that holds it', async () => {
    const dir = dataDir();
    const first = await spawnServer(dir);
    const second = await serveOutcome(['--data-dir', dir, '--port', '0']);
    expect(second.listening).toBe(false);
    if (second.listening) return;
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toContain(dir);
    // The first one is untouched and still the writer.
    const key = await cliKey(dir, 'bot', 'publish');
    const res = await fetch(`${first.url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(classification(1)),
    });
    expect(res.status).toBe(201);
  });

  it('the lock dies with its process: after SIGKILL a new server starts on the same directory', async () => {
    const dir = dataDir();
    const first = await spawnServer(dir);
    first.child.kill('SIGKILL');
    await first.exited;
    const again = await spawnServer(dir);
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
  });

  it('in one process too: a second startServer on a served directory is refused until the first closes', async () => {
    const t = await startTestServer();
    await expect(startTestServer({}, t.dataDir)).rejects.toThrow(/in use by .*pid \d+/);
    await t.close();
    const again = await startTestServer({}, t.dataDir);
    expect((await fetch(`${again.url}/healthz`)).status).toBe(200);
  });

  it('offline writers (keys create/revoke/rotate, db prune) work while serving and corrupt nothing', async () => {
    const dir = dataDir();
    const pub = await cliKey(dir, 'pub', 'publish');
    const srv = await spawnServer(dir);
    const post = (i: number) =>
      fetch(`${srv.url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${pub}` },
        body: JSON.stringify(classification(i)),
      });
    for (let i = 0; i < 5; i++) expect((await post(i)).status).toBe(201);
    const reader = await cliKey(dir, 'friend', 'read');
    expect(
      (await fetch(`${srv.url}/v1/signals`, { headers: { authorization: `Bearer ${reader}` } })).status,
    ).toBe(200);
    const rotated = await runCli(['keys', 'rotate', 'friend', '--grace', '1h', '--data-dir', dir]);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect((await runCli(['keys', 'revoke', 'pub', '--data-dir', dir])).code).toBe(0);
    const pruned = await runCli(['db', 'prune', '--keep-days', '0', '--data-dir', dir]);
    expect(pruned.code, pruned.stderr).toBe(0);
    const check = await runCli(['db', 'check', '--data-dir', dir]);
    expect(check.code, check.stdout).toBe(0);
    const pub2 = await cliKey(dir, 'pub2', 'publish');
    const res = await fetch(`${srv.url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pub2}` },
      body: JSON.stringify(classification(99)),
    });
    expect(res.status).toBe(201);
    expect((await res.json()).seq).toBe(6); // seqs continue across the prune
  });
});
