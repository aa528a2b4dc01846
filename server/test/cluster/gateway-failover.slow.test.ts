import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { StreamCore, memoryCursor, type Signal, type WebSocketConstructor } from '@catalyst-signal/shared';
import { ensureClusterLog, type ClusterLog } from '../../src/jetstream/cluster-log.js';
import { connectNats, type NatsHandle } from '../../src/jetstream/connection.js';
import { spawnServer, type ServerProcess } from '../helpers/cli.js';
import { describeWithNats, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/server.js';
import { clusterKey } from './gateway-harness.js';
import { publishToLog } from './log-publisher.js';
import { SignedLog } from './signed-log.js';

// Time budget: ~30-60 s on the 2-core machine (3-node cluster, 2 `serve --role gateway` processes, 200
// clients, ~1,500 signals; the kill -9 and the failover itself take about a second).
const CLIENTS = 200;
const HEARTBEAT_MS = 1000;

/** `catalyst-server serve --role gateway` on port 0; resolves once it answers readyz (replica caught up). */
async function spawnGateway(urls: string[]): Promise<ServerProcess & { wsUrl: string }> {
  const dir = tempDir('catalyst-gw-proc-');
  const conf = path.join(dir, 'gateway.json');
  writeFileSync(
    conf,
    JSON.stringify({
      ws_max_per_key: 1000,
      ws_connections_per_ip: 100_000,
      heartbeat_ms: HEARTBEAT_MS,
      cluster: { nats_urls: urls, replicas: 3 },
    }),
  );
  const gw = await spawnServer(path.join(dir, 'data'), ['-c', conf, '--role', 'gateway']);
  // Listening is not serving: wait until it answers readyz (keys mirrored, replica caught up).
  for (;;) {
    const r = await fetch(`${gw.url}/readyz`).catch(() => undefined);
    if (r?.status === 200) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return { ...gw, wsUrl: `ws://127.0.0.1:${gw.port}` };
}

/**
 * One friend's stream: the real client's core (shared/src/stream/core.ts, what `catalyst-client run` and
 * the web pages run) with both gateways as its URLs, a memory cursor and `ws` as its WebSocket. It applies
 * only cursor + 1 of its epoch; the test records every applied seq and every accepted (unrecovered) gap.
 */
class Friend {
  readonly applied: number[] = [];
  readonly urls: string[] = [];
  accepted = 0;
  fatal: string | undefined;
  private waiters: (() => void)[] = [];
  readonly core: StreamCore<Signal>;

  constructor(urls: string[], key: string, epoch: string) {
    this.core = new StreamCore<Signal>({
      urls,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      token: key,
      cursor: memoryCursor(epoch, 0),
      policy: {
        heartbeat_misses: 2,
        start_from: 'all',
        reconnect: { initial_delay_ms: 20, factor: 2, max_delay_ms: 200, jitter: 'full' },
      },
      apply: () => Promise.resolve(),
    });
    // After the core moved the cursor (apply resolves first): `last` is current when waiters run.
    this.core.on('applied', (e) => (this.applied.push(e.seq), this.wake()));
    this.core.on('connected', (e) => (this.urls.push(e.url), this.wake()));
    this.core.on('gap', (e) => void (e.via === 'accepted' && this.accepted++));
    this.core.on('fatal', (e) => ((this.fatal = e.message), this.wake()));
    this.core.start();
  }

  get last(): number {
    return this.core.cursor().seq;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when cond holds (checked on every apply / connect), rejects after ms with the state. */
  until(cond: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${what}: at seq ${this.last}, connects ${this.urls.length}, fatal ${this.fatal}`),
          ),
        ms,
      );
      const loop = () => {
        if (this.fatal) return (clearTimeout(timer), reject(new Error(`fatal: ${this.fatal}`)));
        if (cond()) return (clearTimeout(timer), resolve());
        this.waiters.push(loop);
      };
      loop();
    });
  }
}

describeWithNats('kill -9 of one of 2 gateways with 200 clients on it', () => {
  let cluster: NatsCluster;
  let h: NatsHandle;
  let clusterLog: ClusterLog;

  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3 });
    h = await connectNats({ urls: cluster.urls, name: 'failover-test', timeoutMs: 5000 });
    clusterLog = await ensureClusterLog(h, { replicas: 3 });
  });
  afterAll(async () => {
    await h?.close();
    await cluster?.stop();
  });

  it('every client resumes on the other gateway; every seq exactly once, in order', async () => {
    const log = await SignedLog.create(clusterLog.epoch);
    const { key } = await clusterKey(h, 3);
    await publishToLog(h, log.next(500));
    const [a, b] = await Promise.all([spawnGateway(cluster.urls), spawnGateway(cluster.urls)]);

    // Every friend lists A first, then B (as in its server.urls).
    const streamA = `${a.wsUrl}/v1/stream`;
    const streamB = `${b.wsUrl}/v1/stream`;
    const clients = Array.from(
      { length: CLIENTS },
      () => new Friend([streamA, streamB], key, clusterLog.epoch),
    );
    onTestFinished(() => Promise.all(clients.map((c) => c.core.stop())).then(() => undefined));
    const allAt = (seq: number, ms: number, what: string) =>
      Promise.all(clients.map((c) => c.until(() => c.last >= seq, ms, what)));
    await allAt(500, 30_000, 'replay to 500 on A');
    expect(clients.every((c) => c.urls[0] === streamA)).toBe(true);

    let published = 500;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await publishToLog(h, log.next(10), 10);
        published += 10;
        await new Promise((r) => setTimeout(r, 20)); // ~300 signals/s: pacing, not synchronisation
      }
    })();
    await allAt(600, 30_000, 'live on A');

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    const headAtKill = published;
    // Failed over = reconnected (to B: A is dead) and holding everything A had acknowledged at the kill.
    await Promise.all(
      clients.map((c) => c.until(() => c.urls.length >= 2 && c.last >= headAtKill, 30_000, 'resumed on B')),
    );
    const failoverMs = Date.now() - killedAt;
    await allAt(headAtKill + 50, 30_000, 'live on B');
    publishing = false;
    await publisher;
    await allAt(published, 30_000, 'all signals');

    console.log(
      `gateway failover (StreamCore clients): the last of ${CLIENTS} clients resumed on the other gateway at seq >= ${headAtKill} ` +
        `${failoverMs} ms after kill -9 (publishing ~300 signals/s); ${published} signals in all`,
    );
    const all = Array.from({ length: published }, (_, i) => i + 1);
    for (const c of clients) {
      expect(c.applied).toEqual(all);
      expect(c.accepted).toBe(0);
      expect(c.fatal).toBeUndefined();
      expect(c.urls.at(-1)).toBe(streamB);
    }
    b.child.kill('SIGTERM');
  });
});
