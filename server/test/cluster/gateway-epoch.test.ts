import { readdirSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { Replica } from '../../src/store/replica.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { runCli } from '../helpers/cli.js';
import { rawHttp } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/server.js';
import { clusterKey, startTestGateway, type TestGateway } from './gateway-harness.js';
import { useCluster } from './cluster-fixture.js';
import { publishToLog } from './log-publisher.js';
import { SignedLog } from './signed-log.js';

/** A replica data dir filled from `log` (as a gateway of that log would have left it). */
function replicaDir(log: SignedLog, n: number): string {
  const dir = tempDir('catalyst-replica-');
  const db = openDb(dir);
  Replica.open(db, log.epoch).applySequenced(Array.from({ length: n }, (_, i) => log.json(i + 1)));
  db.close();
  return dir;
}

async function upgradeAnswer(t: TestGateway, key: string) {
  const req =
    `GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${key}\r\n\r\n`;
  return rawHttp(t.gw.port, req);
}

describeWithNats(
  'a gateway whose replica diverged from the cluster log refuses to serve and says why',
  () => {
    const cluster = useCluster({ connect: 'epoch-test', timeoutMs: 5000, clusterLog: true });
    let log: SignedLog;

    beforeAll(async () => {
      log = await SignedLog.create(cluster.clusterLog.epoch);
      await publishToLog(cluster.h, log.next(50));
    });

    it('wrong epoch: 503 on history and WebSocket upgrade naming both epochs, an error log line, healthz', async () => {
      const other = await SignedLog.create(); // another cluster's log
      other.next(30);
      const dir = replicaDir(other, 30);
      const { id, key } = await clusterKey(cluster.h, 3);
      const t = await startTestGateway(cluster.h, cluster.clusterLog, { dataDir: dir, waitReady: false });
      await pollUntil('key mirrored', async () => t.gw.keys.get(id), 10_000);

      const history = await t.get('/v1/signals?after_seq=0', key);
      expect(history.status).toBe(503);
      expect(history.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await history.json()) as { detail: string; code: string };
      expect(problem.code).toBe('unavailable');
      expect(problem.detail).toContain(other.epoch);
      expect(problem.detail).toContain(cluster.clusterLog.epoch);
      expect(problem.detail).toContain('epoch_mismatch');
      expect((await t.get('/v1/signals/1', key)).status).toBe(503);

      const up = await upgradeAnswer(t, key);
      expect(up?.status).toBe(503);
      expect(up?.headers['content-type']).toBe('application/problem+json');
      expect(up?.body).toContain(other.epoch);
      expect(up?.body).toContain(cluster.clusterLog.epoch);

      const ready = await fetch(`${t.url}/readyz`);
      expect(ready.status).toBe(503);
      const health = (await (await fetch(`${t.url}/healthz`)).json()) as {
        replica: { diverged: { reason: string; local_epoch: string; cluster_epoch: string } };
      };
      expect(health.replica.diverged).toMatchObject({
        reason: 'epoch_mismatch',
        local_epoch: other.epoch,
        cluster_epoch: cluster.clusterLog.epoch,
      });
      const line = t.logs.find((l) => l['level'] === 50 && String(l['msg']).includes('replica diverged'));
      expect(line).toMatchObject({ local_epoch: other.epoch, cluster_epoch: cluster.clusterLog.epoch });
      expect(String(line!['msg'])).toContain('move');
      // Nothing of the cluster was applied to the foreign replica.
      expect(t.gw.driver.replica.applied).toBe(30);
    });

    it('recovery: `db replica-reset` moves the replica aside, the gateway re-bootstraps and serves the cluster', async () => {
      const other = await SignedLog.create();
      other.next(5);
      const dir = replicaDir(other, 5);
      const { id, key } = await clusterKey(cluster.h, 3);
      const t = await startTestGateway(cluster.h, cluster.clusterLog, { dataDir: dir, waitReady: false });
      expect(t.gw.driver.replicaHealth().diverged?.reason).toBe('epoch_mismatch');
      // Refused while the gateway runs (it holds the data dir's lock).
      const busy = await runCli(['db', 'replica-reset', '--data-dir', dir]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('in use');
      await t.close();
      const r = await runCli(['db', 'replica-reset', '--data-dir', dir]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`cluster epoch ${other.epoch}`);
      expect(readdirSync(dir).some((f) => f.startsWith('catalyst.db.diverged-'))).toBe(true);

      const again = await startTestGateway(cluster.h, cluster.clusterLog, { dataDir: dir });
      await pollUntil('key mirrored', async () => again.gw.keys.get(id), 10_000);
      await pollUntil(
        'bootstrapped',
        async () => again.gw.driver.replica.applied === 50 || undefined,
        20_000,
      );
      const body = await (await again.get('/v1/signals/50', key)).text();
      expect(body).toBe(log.json(50));

      // A single-node data dir is never moved.
      const single = tempDir();
      openDb(single).close();
      const refused = await runCli(['db', 'replica-reset', '--data-dir', single]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('single-node');
    });

    it('same epoch, other content at the head seq (a fork): 503 naming the seq', async () => {
      const fork = await SignedLog.create(cluster.clusterLog.epoch);
      fork.next(20);
      const dir = replicaDir(fork, 20);
      const { id, key } = await clusterKey(cluster.h, 3);
      const t = await startTestGateway(cluster.h, cluster.clusterLog, { dataDir: dir, waitReady: false });
      await pollUntil('key mirrored', async () => t.gw.keys.get(id), 10_000);
      const res = await t.get('/v1/signals', key);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { detail: string }).detail).toContain('seq 20 differs');
      expect(t.gw.driver.replicaHealth().diverged?.seq).toBe(20);
    });

    it('ahead of the cluster: 503 naming both seqs', async () => {
      const ahead = await SignedLog.create(cluster.clusterLog.epoch);
      // The cluster's 50, then 10 the cluster never had.
      const dir = tempDir('catalyst-replica-');
      const db = openDb(dir);
      const r = Replica.open(db, cluster.clusterLog.epoch);
      r.applySequenced(Array.from({ length: 50 }, (_, i) => log.json(i + 1)));
      ahead.next(60);
      r.applySequenced(Array.from({ length: 10 }, (_, i) => ahead.json(51 + i)));
      db.close();
      const t = await startTestGateway(cluster.h, cluster.clusterLog, { dataDir: dir, waitReady: false });
      const d = t.gw.driver.replicaHealth().diverged;
      expect(d?.reason).toBe('ahead_of_cluster');
      expect(d?.detail).toContain('replica head 60');
      expect(d?.detail).toContain('last seq 50');
    });
  },
);
