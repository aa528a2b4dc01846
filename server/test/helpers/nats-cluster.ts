import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type SuiteOptions } from 'vitest';

/**
 * Real nats-server processes (Debian's 2.9 binary) for cluster tests: 1 standalone node or a 3-node JetStream
 * cluster on 127.0.0.1, every port taken from the OS, stores in a temp dir. Readiness is polled on the nodes'
 * own monitoring endpoints with a deadline (never a fixed sleep). stop() kills every child and removes the
 * temp dir; a process 'exit' hook kills any child still alive if a test never got to call it.
 */

export const NATS_SERVER = process.env['NATS_SERVER'] ?? '/usr/sbin/nats-server';
export const natsServerAvailable = (): boolean => existsSync(NATS_SERVER);

/**
 * May/must the tests that need nats-server run here? Yes when the binary is installed, and always under CI=true,
 * where a missing binary must fail the run (startNatsCluster throws) instead of skipping. Only a local run
 * without Debian's nats-server skips them, and says so in the skipped test's name (natsSkipName).
 */
export const natsTestsRun = (): boolean => natsServerAvailable() || process.env['CI'] === 'true';

/** The name of the one skipped test that stands for `name` when natsTestsRun() is false: it says why. */
export const natsSkipName = (name: string): string =>
  `${name} SKIPPED: ${NATS_SERVER} is not installed (apt-get install nats-server); CI installs it`;

/**
 * `describe(name, fn)` for a suite that needs nats-server; where natsTestsRun() is false it registers one
 * skipped test named for the suite and the reason instead, so the skip shows in the output.
 */
export function describeWithNats(name: string, fn: () => void): void;
export function describeWithNats(name: string, options: SuiteOptions, fn: () => void): void;
export function describeWithNats(name: string, a: SuiteOptions | (() => void), b?: () => void): void {
  // Local runs without nats-server only: under CI=true these always run (natsTestsRun); the name says why.
  if (!natsTestsRun()) it.skip(natsSkipName(name), () => {});
  else if (typeof a === 'function') describe(name, a);
  else describe(name, a, b);
}

export interface NatsNode {
  name: string;
  /** nats://127.0.0.1:port */
  url: string;
  /** http://127.0.0.1:port (monitoring: /jsz, /healthz, /varz) */
  monitorUrl: string;
  readonly running: boolean;
  pid: number;
  /** Kill the process (SIGKILL by default) and wait until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again with the same name, ports and store; resolves once its monitoring port answers. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  /** Client URLs of every node. */
  urls: string[];
  nodes: NatsNode[];
  dir: string;
  /** Name of the node leading `stream` (from a live node's /jsz), or undefined while it has none. */
  streamLeader(stream: string): Promise<string | undefined>;
  /** The running node leading `stream`, waiting up to `timeoutMs` for one to be elected. */
  waitStreamLeader(stream: string, timeoutMs?: number): Promise<NatsNode>;
  /** Kill every node (SIGKILL) and remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** 3 (a JetStream cluster) or 1 (standalone JetStream). Default 3. */
  size?: 1 | 3;
  /** Deadline for the cluster to elect a meta leader, ms. Default 30 s. */
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

/** A free TCP port: listen on 0, read it, close. (Another process could take it before nats-server does.) */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function getJson(url: string, timeoutMs = 3000): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** Poll `check` until it returns a value (not undefined), or throw after `timeoutMs` with the last error. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface JszStream {
  name: string;
  cluster?: { leader?: string };
}
interface Jsz {
  meta_cluster?: { leader?: string };
  account_details?: { stream_detail?: JszStream[] }[];
}

/**
 * Ports come from freePort(), which frees them before nats-server binds them: another process (a parallel test
 * file's nats-server) can take one in between. That start fails with "address already in use" and is retried
 * with new ports; any other failure is thrown at once.
 */
export async function startNatsCluster(o: NatsClusterOptions = {}): Promise<NatsCluster> {
  if (!natsServerAvailable())
    throw new Error(`${NATS_SERVER} is not installed (apt-get install nats-server)`);
  hookExit();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(o);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(o: NatsClusterOptions): Promise<NatsCluster> {
  const size = o.size ?? 3;
  const readyTimeoutMs = o.readyTimeoutMs ?? 30_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'catalyst-nats-'));
  const specs: { name: string; port: number; http: number; route: number }[] = [];
  for (let i = 1; i <= size; i++) {
    specs.push({ name: `n${i}`, port: await freePort(), http: await freePort(), route: await freePort() });
  }
  const routes = specs.map((s) => `nats-route://127.0.0.1:${s.route}`);

  const nodes = specs.map((s) => {
    const store = path.join(dir, s.name);
    mkdirSync(store, { recursive: true });
    const conf = path.join(dir, `${s.name}.conf`);
    const cluster =
      size > 1
        ? `cluster { name: catalyst_test, listen: 127.0.0.1:${s.route}, routes: [${routes
            .filter((r) => !r.endsWith(`:${s.route}`))
            .join(', ')}] }`
        : '';
    writeFileSync(
      conf,
      [
        `server_name: ${s.name}`,
        `listen: 127.0.0.1:${s.port}`,
        `http: 127.0.0.1:${s.http}`,
        `jetstream { store_dir: "${store}" }`,
        cluster,
      ].join('\n'),
    );
    const tail: string[] = [];
    let proc: ChildProcess | undefined;
    const monitorUrl = `http://127.0.0.1:${s.http}`;
    const isRunning = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    const spawnIt = () => {
      const p = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(p);
      const keep = (b: Buffer) => {
        for (const line of b.toString().split('\n')) if (line) tail.push(line);
        if (tail.length > 50) tail.splice(0, tail.length - 50);
      };
      p.stdout!.on('data', keep);
      p.stderr!.on('data', keep);
      p.on('exit', () => live.delete(p));
      proc = p;
      return p;
    };
    const node: NatsNode & { start(): ChildProcess; tail: string[] } = {
      name: s.name,
      url: `nats://127.0.0.1:${s.port}`,
      monitorUrl,
      tail,
      get running() {
        return isRunning();
      },
      get pid() {
        return proc?.pid ?? 0;
      },
      start: spawnIt,
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        const p = proc;
        if (!p || !isRunning()) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill(signal);
        await exited;
      },
      async restart() {
        if (isRunning()) throw new Error(`${s.name} is still running`);
        spawnIt();
        // Up = its monitoring port answers. Not /healthz: a restarted node reports unhealthy while it catches
        // up, which under load can outlast any fixed deadline; callers that need it current wait for that.
        try {
          await pollUntil(
            `${s.name} to answer /varz after its restart`,
            async () => {
              if (!isRunning()) throw new Error(`${s.name} exited`);
              return (
                (await fetch(`${monitorUrl}/varz`, { signal: AbortSignal.timeout(3000) })).ok || undefined
              );
            },
            Math.max(readyTimeoutMs, 60_000),
          );
        } catch (err) {
          throw new Error(`${(err as Error).message}; its log ends: ${tail.slice(-6).join(' | ')}`, {
            cause: err,
          });
        }
      },
    };
    return node;
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // A node that exits while starting (a port taken, a bad config) fails the start at once, with its log's end
    // ('close': after its output was read), rather than after the readiness deadline.
    const died = new Promise<never>((_, reject) => {
      for (const n of nodes)
        n.start().once('close', () =>
          reject(new Error(`${n.name} exited while starting: ${n.tail.slice(-5).join(' | ')}`)),
        );
    });
    died.catch(() => undefined); // a node killed by a test later is not an error of the start
    const ready = Promise.all(
      nodes.map((n) =>
        pollUntil(
          `${n.name} JetStream ${size > 1 ? 'meta leader' : 'ready'}`,
          async () => {
            if (!n.running) throw new Error(`${n.name} exited: ${n.tail.slice(-5).join(' | ')}`);
            if (size === 1) {
              return (
                ((await getJson(`${n.monitorUrl}/healthz`)) as { status?: string }).status === 'ok' ||
                undefined
              );
            }
            return ((await getJson(`${n.monitorUrl}/jsz`)) as Jsz).meta_cluster?.leader ? true : undefined;
          },
          readyTimeoutMs,
        ),
      ),
    );
    await Promise.race([ready, died]);
  } catch (err) {
    await stop();
    throw err;
  }

  const streamLeader = async (stream: string): Promise<string | undefined> => {
    for (const n of nodes) {
      if (!n.running) continue;
      try {
        const jsz = (await getJson(`${n.monitorUrl}/jsz?accounts=true&streams=true`)) as Jsz;
        for (const a of jsz.account_details ?? []) {
          for (const st of a.stream_detail ?? []) {
            if (st.name === stream) {
              // Standalone: no cluster info, the one node is the leader.
              const leader = size === 1 ? n.name : st.cluster?.leader;
              if (leader) return leader;
            }
          }
        }
      } catch {
        // A node that is going down: ask the next one.
      }
    }
    return undefined;
  };

  return {
    urls: nodes.map((n) => n.url),
    nodes,
    dir,
    streamLeader,
    async waitStreamLeader(stream, timeoutMs = 30_000) {
      // A survivor may still name a dead leader until the election: wait for a live one.
      return pollUntil(
        `a live leader for stream ${stream}`,
        async () => {
          const name = await streamLeader(stream);
          return nodes.find((n) => n.name === name && n.running);
        },
        timeoutMs,
      );
    },
    stop,
  };
}
