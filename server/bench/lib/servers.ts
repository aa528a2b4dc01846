/**
 * Start and stop the servers under test: our server (server/dist/cli.js) and the three peers. Each runs alone,
 * pinned to CPU 0 when taskset exists, with a fresh data directory; readiness is the `"msg":"listening"` line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientKind } from '../gen/protocol.js';
import { cpuUs, rssBytes } from './proc.js';

/** `catalyst-unsigned`: ours with per-signal signatures off (log.signal_signatures: false); S3 only. */
export const SERVER_NAMES = ['catalyst', 'ws-naive', 'ws-once', 'socketio', 'catalyst-unsigned'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];
export type Sync = 'normal' | 'full';

export const LABELS: Record<ServerName, string> = {
  catalyst: 'catalyst (ours)',
  'ws-naive': 'ws naive',
  'ws-once': 'ws serialise-once',
  socketio: 'Socket.IO 4 + recovery',
  'catalyst-unsigned': 'catalyst, per-signal sigs off',
};

/** Our server, in either signing mode. */
export const isOurs = (name: ServerName): name is 'catalyst' | 'catalyst-unsigned' =>
  name === 'catalyst' || name === 'catalyst-unsigned';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const CLI = join(ROOT, 'server/dist/cli.js');
const PEER: Record<Exclude<ServerName, 'catalyst' | 'catalyst-unsigned'>, string> = {
  'ws-naive': 'server/bench/peers/ws-naive.ts',
  'ws-once': 'server/bench/peers/ws-once.ts',
  socketio: 'server/bench/peers/socketio.ts',
};

export const ourServerBuilt = (): boolean => existsSync(CLI);

export interface RunningServer {
  name: ServerName;
  kind: ClientKind;
  pid: number;
  port: number;
  publishToken?: string;
  readToken?: string;
  cpuUs(): number;
  rss(): number;
  /** Full GC in the server if it offers a way (peers: bench-only endpoint); false otherwise. */
  gc(): Promise<boolean>;
  stop(): Promise<void>;
}

let pinned = false;
export function pinServersTo(cpu0: boolean): void {
  pinned = cpu0;
}
/** Whether servers run pinned to CPU 0 (the cluster scenarios pin theirs the same way). */
export const serversPinned = (): boolean => pinned;

/** `keys create` needs an initialised data directory (only init and serve create one). */
function initDataDir(dataDir: string): void {
  const r = spawnSync(process.execPath, [CLI, 'init', '--data-dir', dataDir], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`init failed (${r.status}): ${r.stderr || r.stdout}`);
}

function createKey(dataDir: string, scope: 'publish' | 'read'): string {
  const args = [
    CLI,
    'keys',
    'create',
    '--data-dir',
    dataDir,
    '--name',
    `bench-${scope}`,
    '--scope',
    scope,
    '--json',
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT });
  const line = r.stdout.split('\n').find((l) => l.includes('"key"'));
  if (r.status !== 0 || !line) throw new Error(`keys create failed (${r.status}): ${r.stderr || r.stdout}`);
  return (JSON.parse(line) as { key: string }).key;
}

export function waitListening(child: ChildProcess, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`${name}: no "listening" line in 20 s\n${out}\n${err}`)),
      20_000,
    );
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        try {
          const port = (JSON.parse(line) as { port?: unknown }).port;
          if (typeof port === 'number' && port > 0) {
            clearTimeout(timer);
            child.stdout!.removeAllListeners('data');
            child.stdout!.resume();
            return resolve(port);
          }
        } catch {
          /* a partial line; wait for more */
        }
      }
      out = out.slice(-8000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening\n${out}\n${err}`));
    });
  });
}

export async function startServer(name: ServerName, sync: Sync = 'normal'): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  let publishToken: string | undefined;
  let readToken: string | undefined;
  let argv: string[];
  if (isOurs(name)) {
    initDataDir(dataDir);
    publishToken = createKey(dataDir, 'publish');
    readToken = createKey(dataDir, 'read');
    // BENCH_PROF_DIR=<dir>: our server writes a V8 CPU profile there when it stops (node --cpu-prof).
    const profDir = process.env['BENCH_PROF_DIR'];
    argv = [
      ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
      '--expose-gc',
      CLI,
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--sync',
      sync,
    ];
    if (name === 'catalyst-unsigned') {
      const file = join(dataDir, 'bench-unsigned.json');
      writeFileSync(file, JSON.stringify({ log: { signal_signatures: false } }));
      argv.push('--config', file);
    }
  } else {
    argv = [
      '--expose-gc',
      '--import',
      'tsx',
      PEER[name],
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--sync',
      sync,
    ];
  }
  const cmd = pinned ? 'taskset' : process.execPath;
  const args = pinned ? ['-c', '0', process.execPath, ...argv] : argv;
  // CATALYST_WS_MAX_PER_KEY: every bench client shares one read key, and LIMITS_DISABLED does not lift that cap.
  const env = {
    ...process.env,
    CATALYST_LIMITS_DISABLED: '1',
    CATALYST_WS_MAX_PER_KEY: '1000000',
    NODE_OPTIONS: '',
  };
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await waitListening(child, name).catch(async (err: Error) => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    kind: isOurs(name) ? 'catalyst' : name === 'socketio' ? 'sio' : 'ws',
    pid,
    port,
    publishToken,
    readToken,
    cpuUs: () => cpuUs(pid),
    rss: () => rssBytes(pid),
    gc: async () => {
      if (isOurs(name)) return false;
      const r = await fetch(`http://127.0.0.1:${port}/bench/gc`, { method: 'POST' });
      return ((await r.json()) as { gc: boolean }).gc;
    },
    stop: () =>
      (stopping ??= (async () => {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
        rmSync(dataDir, { recursive: true, force: true });
      })()),
  };
}
