import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { CLI, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// The dashboard link carries its access token: printed only to a terminal. Under systemd (a pipe) stdout goes
// to the system journal, so the link goes to a 0600 file in the data dir and stdout says where.

const LINK = /http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{43}/;
let dir: string;
let data: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-dashlink-'));
  data = join(dir, 'catalyst-client-data');
  writeConfig(dir, { server: { url: 'http://127.0.0.1:9' } });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const withJournal = () => {
  mkdirSync(data);
  Journal.open(join(data, 'journal.sqlite')).close();
};

describe('the dashboard link', () => {
  it('not a terminal: written to a 0600 file, only its path on stdout, removed at exit', async () => {
    withJournal();
    const dash = startClient(['-c', 'catalyst.yaml', 'dashboard'], {}, dir);
    const file = (await dash.waitStdout(/^dashboard: the link \(with its access token\) is in (\S+);/m))[1]!;
    expect(file).toBe(join(data, 'dashboard-url'));
    expect(dash.stdout).not.toContain('token=');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const url = readFileSync(file, 'utf8').trim();
    expect(url).toMatch(LINK);
    expect((await fetch(new URL('/', url))).status).toBe(200);
    dash.child.kill('SIGTERM');
    expect((await dash.exited).code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('a terminal: the link is printed, no file', async () => {
    withJournal();
    // A real pseudo-terminal for the child's stdout (python3's pty), as when a person runs it.
    const py = `import os, pty, sys, select, signal
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
while b'#token=' not in out or not out.endswith(b'\\n'):
    r, _, _ = select.select([fd], [], [], 20)
    if not r: break
    try: chunk = os.read(fd, 4096)
    except OSError: break
    if not chunk: break
    out += chunk
sys.stdout.write(out.decode())
sys.stdout.flush()
os.kill(pid, signal.SIGTERM)
os.waitpid(pid, 0)`;
    const child = spawn('python3', ['-c', py, process.execPath, CLI, '-c', 'catalyst.yaml', 'dashboard'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.on('exit', r));
    expect(out).toMatch(new RegExp(`^dashboard: ${LINK.source}\\r?\\n$`));
    expect(existsSync(join(data, 'dashboard-url'))).toBe(false);
  });

  it('run --dashboard under a pipe writes the file too', async () => {
    const server = await FakeSignalServer.start({ heartbeatMs: 1000 });
    try {
      writeConfig(dir, { server: { url: server.url, start_from: 'all' } });
      writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
      const run = startClient(['-c', 'catalyst.yaml', 'run', '--dashboard', '--json'], {}, dir);
      const file = (await run.waitStdout(/^dashboard: the link \(with its access token\) is in (\S+);/m))[1]!;
      expect(readFileSync(file, 'utf8')).toMatch(LINK);
      expect(run.stdout).not.toContain('token=');
      run.child.kill('SIGTERM');
      expect((await run.exited).code).toBe(0);
      expect(existsSync(file)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
