import { beforeAll, expect, it } from 'vitest';
import { Follower, type LogEntry } from '../../src/jetstream/follower.js';
import { messageAt, streamView } from '../../src/jetstream/log-state.js';
import { createLogger } from '../../src/logger.js';
import { openDb } from '../../src/store/db.js';
import { Replica } from '../../src/store/replica.js';
import { describeWithNats } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/server.js';
import { useCluster } from './cluster-fixture.js';
import { publishToLog, STREAM } from './log-publisher.js';
import { SignedLog } from './signed-log.js';
import { Waiter } from './waiter.js';

describeWithNats('log follower on a real 3-node JetStream cluster', () => {
  const cluster = useCluster({ connect: 'follower-test', timeoutMs: 5000, clusterLog: true });
  let log: SignedLog;

  beforeAll(async () => {
    log = await SignedLog.create(cluster.clusterLog.epoch);
  });
  /** A started follower of the log applying into `replica` and waking `waiter`; a divergence fails the test. */
  const follow = (replica: Replica, waiter: Waiter, idleMs?: number) =>
    new Follower({
      nc: cluster.h.nc,
      stream: STREAM,
      nextSeq: () => replica.applied + 1,
      apply: (batch) => {
        replica.applySequenced(batch.map((e) => e.json));
        waiter.wake();
      },
      onDiverged: (detail) => {
        throw new Error(detail);
      },
      log: createLogger('silent'),
      ...(idleMs !== undefined ? { idleMs } : {}),
    }).start();

  it('reads from applied + 1 then live, applying batches in seq order into the replica', async () => {
    await publishToLog(cluster.h, log.next(1500));
    const replica = Replica.open(openDb(tempDir()), cluster.clusterLog.epoch);
    const view = await streamView(cluster.h, STREAM);
    expect(view).toEqual({ firstSeq: 1, lastSeq: 1500 });
    expect(replica.verify({ epoch: cluster.clusterLog.epoch, ...view }, undefined)).toBeUndefined();
    const published: number[] = [];
    const batches: number[] = [];
    const waiter = new Waiter();
    const follower = new Follower({
      nc: cluster.h.nc,
      stream: STREAM,
      nextSeq: () => replica.applied + 1,
      apply: (batch: LogEntry[]) => {
        // The same synchronous step: store, then publish what was stored.
        const stored = replica.applySequenced(batch.map((e) => e.json));
        for (const s of stored) published.push(s.signal.seq);
        batches.push(batch.length);
        waiter.wake();
      },
      onDiverged: (detail) => {
        throw new Error(detail);
      },
      log: createLogger('silent'),
    }).start();
    await waiter.until(() => replica.applied === 1500, 20_000);
    // Live: published after the follower caught up.
    await publishToLog(cluster.h, log.next(300));
    await waiter.until(() => replica.applied === 1800, 20_000);
    await follower.stop();
    expect(published).toEqual(Array.from({ length: 1800 }, (_, i) => i + 1));
    expect(batches.length).toBeLessThan(1800); // it batched
    expect(replica.store.getJson(1800)).toBe(log.json(1800));
    expect(await messageAt(cluster.h, STREAM, 1800)).toBe(log.json(1800));
    expect(await messageAt(cluster.h, STREAM, 999_999)).toBeUndefined();
    expect(follower.stats.knownLastSeq).toBe(1800);

    // A restart resumes from applied + 1: nothing applied twice (the replica would refuse it).
    await publishToLog(cluster.h, log.next(50));
    const again = follow(replica, waiter);
    await waiter.until(() => replica.applied === 1850, 20_000);
    await again.stop();
    expect(again.stats.sessions).toBe(1);
  });

  it('an idle follower keeps its consumer: server heartbeats feed the watchdog', async () => {
    const replica = Replica.open(openDb(tempDir()), cluster.clusterLog.epoch);
    const waiter = new Waiter();
    const follower = follow(replica, waiter, 3000);
    await waiter.until(() => replica.applied === log.head, 20_000);
    // Nothing is published for over twice the watchdog's limit: the duration IS the test, not a synchronisation.
    await new Promise((r) => setTimeout(r, 7000));
    expect(follower.stats.watchdogFirings).toBe(0);
    expect(follower.stats.heartbeats).toBeGreaterThanOrEqual(3);
    expect(follower.stats.sessions).toBe(1);
    await publishToLog(cluster.h, log.next(1));
    await waiter.until(() => replica.applied === log.head, 10_000);
    await follower.stop();
  });
});
