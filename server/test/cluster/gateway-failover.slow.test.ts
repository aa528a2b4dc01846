import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ensureClusterLog, type ClusterLog } from '../../src/jetstream/cluster-log.js';
import { connectNats, type NatsHandle } from '../../src/jetstream/connection.js';
import { natsServerAvailable, startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { tempDir } from '../helpers/server.js';
import { clusterKey } from './gateway-harness.js';
import { publishToLog } from './log-publisher.js';
import { SignedLog } from './signed-log.js';

// Time budget: ~30-60 s on the 2-core machine (3-node cluster, 2 gateway processes, 200 WebSocket clients,
// ~1,500 signals; the kill -9 and the failover itself take about a second).
const CI = process.env['CI'] === 'true';
const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));
const CLIENTS = 200;

interface GatewayProcess {
  proc: ChildProcess;
  port: number;
  wsUrl: string;
}

/** A gateway process (startGateway, as `serve --role gateway` runs it) on port 0; resolves once listening. */
async function spawnGateway(urls: string[]): Promise<GatewayProcess> {
  const config = {
    data_dir: tempDir('catalyst-gw-proc-'),
    port: 0,
    host: '127.0.0.1',
    log_level: 'info',
    ws_max_per_key: 1000,
    ws_connections_per_ip: 100_000,
    heartbeat_ms: 1000,
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, GW_NATS_URLS: urls.join(','), GW_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => void proc.kill('SIGKILL'));
  const tail: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (l) => tail.push(l));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not listen: ${tail.join('\n')}`)), 30_000);
    proc.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${tail.join('\n')}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const l = JSON.parse(line) as { msg?: string; port?: number };
        if (l.msg === 'listening' && l.port) {
          clearTimeout(timer);
          resolve(l.port);
        }
      } catch {
        tail.push(line);
      }
    });
  });
  // Listening is not serving: wait until it answers readyz (keys mirrored, replica caught up).
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (r?.status === 200) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return { proc, port, wsUrl: `ws://127.0.0.1:${port}` };
}

if (!natsServerAvailable() && !CI) {
  it.skip('SKIPPED: /usr/sbin/nats-server is not installed (apt-get install nats-server); CI installs it', () => {});
} else {
  describe('kill -9 of one of 2 gateways with 200 clients on it', () => {
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

      // The test's model of a multi-URL client: each (re)connect tries the next URL, A first.
      const clients = Array.from({ length: CLIENTS }, () => {
        let attempt = 0;
        const urls = [a!.wsUrl, b!.wsUrl];
        return new ResumingStream({
          url: () => urls[attempt++ % 2]!,
          key,
          epoch: clusterLog.epoch,
          heartbeatMs: 1000,
          watchdogFactor: 2,
          backoffMs: [20, 200],
        }).start();
      });
      onTestFinished(() => clients.forEach((c) => c.stop()));
      const allAt = (seq: number, ms: number, what: string) =>
        Promise.all(clients.map((c) => c.until(() => c.last >= seq, ms, what)));
      await allAt(500, 30_000, 'replay to 500 on A');

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
      a!.proc.kill('SIGKILL');
      const headAtKill = published;
      // Failed over = reconnected (to B: A is dead) and holding everything A had acknowledged at the kill.
      await Promise.all(
        clients.map((c) => c.until(() => c.connects >= 2 && c.last >= headAtKill, 30_000, 'resumed on B')),
      );
      const failoverMs = Date.now() - killedAt;
      await allAt(headAtKill + 50, 30_000, 'live on B');
      publishing = false;
      await publisher;
      await allAt(published, 30_000, 'all signals');

      console.log(
        `gateway failover: the last of ${CLIENTS} clients resumed on the other gateway at seq >= ${headAtKill} ` +
          `${failoverMs} ms after kill -9 (publishing ~300 signals/s); ${published} signals in all`,
      );
      for (const c of clients) {
        expect(c.applied.length).toBe(published);
        expect(c.applied.every((s, i) => s === i + 1)).toBe(true);
        expect(c.duplicates).toBe(0);
        expect(c.gaps).toEqual([]);
        expect(c.unrecovered).toBe(0);
        expect(c.badEpoch).toBe(0);
        expect(c.connects).toBeGreaterThanOrEqual(2);
      }
      b!.proc.kill('SIGTERM');
    });
  });
}
