import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.js';
import type { ConfigInput } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { KeyStore } from '../../src/store/keys.js';
import { tempDir } from './server.js';

/** The built CLI (npm test builds first): what ships is what is killed. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface ChildKeys {
  adminKey: string;
  publishKey: string;
  readKey: string;
}

export interface ChildServerOptions {
  /** Written to a config file passed with -c (any key of the config schema). */
  config?: Partial<ConfigInput>;
  /** Extra environment (CATALYST_*). */
  env?: Record<string, string>;
  /** Reuse a data dir (and its keys); a fresh temp dir with three new keys otherwise. */
  dataDir?: string;
  keys?: ChildKeys;
  /** Extra `serve` arguments (e.g. ['--role', 'ingest']). */
  args?: string[];
}

/**
 * The server as a child process (`node server/dist/cli.js serve`), for tests that must SIGKILL it or read
 * its RSS. Listens on 127.0.0.1 port 0; the port is taken from its `"msg":"listening"` log line. Every
 * child is killed in the running test's teardown; the temp data dir is removed by tempDir's teardown.
 */
export class ChildServer {
  proc: ChildProcess | undefined;
  port = 0;
  /** Restarts done (0 for the first start). */
  starts = 0;
  /** Last lines of stdout/stderr, for failure messages. */
  readonly tail: string[] = [];
  private exitWaiters: (() => void)[] = [];

  private constructor(
    readonly dataDir: string,
    readonly keys: ChildKeys,
    private readonly configFile: string,
    private readonly env: Record<string, string>,
    private readonly args: string[] = [],
  ) {}

  static async start(o: ChildServerOptions = {}): Promise<ChildServer> {
    const dataDir = o.dataDir ?? tempDir('catalyst-child-');
    const keys = o.keys ?? createKeys(dataDir);
    const configFile = path.join(dataDir, 'test-config.json');
    // log_level info at least: the port comes from the "listening" line.
    writeFileSync(configFile, JSON.stringify({ ...o.config, log_level: 'info' }));
    const s = new ChildServer(dataDir, keys, configFile, o.env ?? {}, o.args);
    onTestFinished(() => s.kill('SIGKILL'));
    await s.spawn();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Spawn and resolve once the server logged `listening` (rejects if it exits first or takes > 15 s). */
  async spawn(): Promise<void> {
    if (this.running) throw new Error('already running');
    const proc = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--data-dir',
        this.dataDir,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '-c',
        this.configFile,
        ...this.args,
      ],
      { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    this.starts++;
    proc.on('exit', () => {
      for (const w of this.exitWaiters.splice(0)) w();
    });
    const keep = (line: string) => {
      this.tail.push(line.slice(0, 500));
      if (this.tail.length > 40) this.tail.shift();
    };
    createInterface({ input: proc.stderr! }).on('line', keep);
    const lines = createInterface({ input: proc.stdout! });
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not listen within 15 s:\n${this.tail.join('\n')}`)),
        15_000,
      );
      lines.on('line', (line) => {
        keep(line);
        if (!line.includes('"msg":"listening"')) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before listening:\n${this.tail.join('\n')}`));
      });
    });
  }

  /** Send a signal and resolve when the process has exited. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return Promise.resolve();
    const exited = new Promise<void>((r) => this.exitWaiters.push(r));
    this.proc!.kill(signal);
    return exited;
  }

  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.spawn();
  }

  /** Resident set size of the server process, bytes (VmRSS of /proc/<pid>/status). */
  rss(): number {
    return rssOf(this.pid);
  }

  /** `catalyst-server db check` on the data dir (the server may be running or not). */
  dbCheck(): { ok: boolean; output: string } {
    return dbCheck(this.dataDir);
  }
}

export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export function dbCheck(dataDir: string): { ok: boolean; output: string } {
  const r = spawnSync(process.execPath, [CLI, 'db', 'check', '--data-dir', dataDir], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Create admin, publish and read keys directly in the store (what `keys create` does), before the first start. */
export function createKeys(dataDir: string): ChildKeys {
  const db = openDb(dataDir);
  try {
    const ks = new KeyStore(db);
    return {
      adminKey: createApiKey(ks, 'chaos-admin', ['admin']).key,
      publishKey: createApiKey(ks, 'chaos-publisher', ['publish']).key,
      readKey: createApiKey(ks, 'chaos-reader', ['read']).key,
    };
  } finally {
    db.close();
  }
}

/** Poll GET /healthz (bounded count, short timeout each) until it answers 200. */
export async function waitHealthy(url: string, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not healthy after ${attempts} attempts`);
}
