import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { tempDir } from './server.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A temp data directory with a database, as a server's first start leaves it (no keys, no signing key yet):
 * the offline commands refuse a directory without one.
 */
export function dataDir(): string {
  const dir = tempDir();
  openDb(dir).close();
  return dir;
}

/** Run the built CLI to completion. */
export function runCli(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Create a key through the CLI (`keys create --json`) and return the plain key. */
export async function cliKey(
  dataDir: string,
  name: string,
  scope: 'read' | 'publish' | 'admin',
): Promise<string> {
  const r = await runCli([
    'keys',
    'create',
    '--data-dir',
    dataDir,
    '--name',
    name,
    '--scope',
    scope,
    '--json',
  ]);
  if (r.code !== 0) throw new Error(`keys create failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  exited: Promise<number | null>;
  /** Everything the process wrote to stderr so far (the human lines: keys, `listening on`). */
  stderr(): string;
}

/** Start `catalyst-server serve` as a child process on port 0 and wait for its `listening` log line. */
export function spawnServer(
  dataDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1', ...extra],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; port?: number };
        if (rec.msg === 'listening' && rec.port)
          resolve({
            child,
            port: rec.port,
            url: `http://127.0.0.1:${rec.port}`,
            exited,
            stderr: () => stderr,
          });
      } catch {
        /* not a log line */
      }
    });
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
}
