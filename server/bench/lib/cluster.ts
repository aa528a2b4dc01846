/**
 * Cluster mode under test: a real 3-node nats-server JetStream cluster (server/test/helpers/nats-cluster.ts)
 * plus catalyst-server processes in the ingest and gateway roles (`serve --role ...` with a config file), all
 * pinned to CPU 0 like the single-node servers (or the nats nodes on CPU 1: startCluster), generators on CPU 1. Skipped, with the reason, when nats-server
 * or the roles are missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuUs, rssBytes } from './proc.js';
import { CLI, ROOT, ourServerBuilt, serversPinned, waitListening, type RunningServer } from './servers.js';

export type Role = 'ingest' | 'gateway';

/**
 * What the bench uses of the cluster tests' nats harness. Imported at run time, so that `npm run bench` (and
 * the typecheck) do not depend on it: without it the cluster scenarios are skipped and say why.
 */
const HARNESS = new URL('../../test/helpers/nats-cluster.ts', import.meta.url).pathname;
interface NatsCluster {
  urls: string[];
  nodes: { pid: number; readonly running: boolean }[];
  stop(): Promise<void>;
}
interface Harness {
  NATS_SERVER: string;
  natsServerAvailable(): boolean;
  startNatsCluster(o: { size?: 1 | 3 }): Promise<NatsCluster>;
}
let harness: Harness | undefined;

export interface RoleProcess extends RunningServer {
  role: Role;
  /** SIGKILL (a crash) and wait for the exit; stop() afterwards only removes the data dir. */
  kill(): Promise<void>;
}

export interface ClusterUnderTest {
  nats: NatsCluster;
  replicas: 1 | 3;
  ingest: RoleProcess;
  gateways: RoleProcess[];
  /** CPU time of every cluster process (nats nodes, ingest, gateways), µs. */
  cpuUs(): number;
  stop(): Promise<void>;
}

let unavailable: string | null | undefined;

/** Why the cluster scenarios cannot run here (null: they can). */
export async function clusterUnavailable(): Promise<string | null> {
  if (unavailable !== undefined) return unavailable;
  if (!existsSync(HARNESS))
    return (unavailable = "needs cluster mode's nats test harness (server/test/helpers/nats-cluster.ts)");
  harness = (await import(HARNESS)) as Harness;
  if (!harness.natsServerAvailable())
    unavailable = `${harness.NATS_SERVER} not found (apt-get install nats-server)`;
  else if (!ourServerBuilt()) unavailable = 'server/dist/cli.js was not built';
  else {
    const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8', cwd: ROOT });
    unavailable = /--role\b/.test(help.stdout)
      ? null
      : 'needs cluster roles: `catalyst-server serve --role ingest|gateway` is not in this build';
  }
  return unavailable;
}

/** Pin an already running process (every thread) to a CPU: 0 as the single-node servers are, or 1. */
function pinTo(pid: number, cpu: 0 | 1): void {
  if (serversPinned()) spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)]);
}

/** One config file per process; the `cluster` block is the only cluster-specific part. */
function writeConfig(dir: string, role: Role, urls: string[], replicas: 1 | 3): string {
  const file = join(dir, `${role}.json`);
  const config = {
    data_dir: join(dir, 'data'),
    host: '127.0.0.1',
    port: 0,
    // Every bench client shares one read key; the benchmarks measure the server, not the rate limits.
    limits_disabled: true,
    ws_max_per_key: 1_000_000,
    cluster: { nats_urls: urls, replicas },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function createKey(config: string, scope: 'publish' | 'read'): string {
  const args = [
    CLI,
    'keys',
    'create',
    '--config',
    config,
    '--name',
    `bench-${scope}`,
    '--scope',
    scope,
    '--json',
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT });
  const line = r.stdout.split('\n').find((l) => l.includes('"key"'));
  if (r.status !== 0 || !line)
    throw new Error(`keys create (cluster) failed (${r.status}): ${r.stderr || r.stdout}`);
  return (JSON.parse(line) as { key: string }).key;
}

async function startRole(
  role: Role,
  index: number,
  urls: string[],
  replicas: 1 | 3,
  tokens: { publish?: string; read?: string },
): Promise<RoleProcess> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${role}${index}-`));
  const config = writeConfig(dir, role, urls, replicas);
  // BENCH_PROF_DIR=<dir>: the ingest process writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profDir = process.env['BENCH_PROF_DIR'];
  const prof = profDir && role === 'ingest' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const argv = [...prof, '--expose-gc', CLI, 'serve', '--role', role, '--config', config];
  const cmd = serversPinned() ? 'taskset' : process.execPath;
  const args = serversPinned() ? ['-c', '0', process.execPath, ...argv] : argv;
  const env = { ...process.env, NODE_OPTIONS: '' };
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const name = `${role}${index}`;
  const port = await waitListening(child, name).catch((err: Error) => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  let stopping: Promise<void> | undefined;
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    name: 'catalyst',
    kind: 'catalyst',
    role,
    pid,
    port,
    publishToken: tokens.publish,
    readToken: tokens.read,
    cpuUs: () => (child.exitCode === null && child.signalCode === null ? cpuUs(pid) : 0),
    rss: () => rssBytes(pid),
    gc: () => Promise.resolve(false),
    kill,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
        }
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/**
 * 3 nats nodes, one ingest, `gateways` gateways; the stream with `replicas`. Throws if any part fails.
 * `natsCpu`: where the nats nodes run. 0 (default): with the catalyst processes, everything on one core.
 * 1: beside the generators, so the catalyst processes have CPU 0 to themselves, as the single-node server
 * has; closer to a deployment, where the three nats nodes are other machines.
 */
export async function startCluster(
  replicas: 1 | 3,
  gateways: number,
  o: { natsCpu?: 0 | 1 } = {},
): Promise<ClusterUnderTest> {
  if (!harness) throw new Error('clusterUnavailable() first');
  const nats = await harness.startNatsCluster({ size: 3 });
  for (const n of nats.nodes) pinTo(n.pid, o.natsCpu ?? 0);
  const parts: RoleProcess[] = [];
  const keyDir = mkdtempSync(join(tmpdir(), 'bench-keys-'));
  try {
    // The ingest node creates the stream (with `replicas`) and the KV buckets; keys go to the cluster's KV.
    const ingest = await startRole('ingest', 1, nats.urls, replicas, {});
    parts.push(ingest);
    const keyConfig = writeConfig(keyDir, 'ingest', nats.urls, replicas);
    ingest.publishToken = createKey(keyConfig, 'publish');
    const read = createKey(keyConfig, 'read');
    ingest.readToken = read;
    for (let i = 1; i <= gateways; i++) {
      parts.push(await startRole('gateway', i, nats.urls, replicas, { read }));
    }
    const gws = parts.slice(1);
    return {
      nats,
      replicas,
      ingest,
      gateways: gws,
      cpuUs: () =>
        parts.reduce((a, p) => a + p.cpuUs(), 0) +
        nats.nodes.reduce((a, n) => a + (n.running ? cpuUs(n.pid) : 0), 0),
      stop: async () => {
        await Promise.all(parts.map((p) => p.stop()));
        await nats.stop();
        rmSync(keyDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(parts.map((p) => p.stop()));
    await nats.stop();
    rmSync(keyDir, { recursive: true, force: true });
    throw err;
  }
}
