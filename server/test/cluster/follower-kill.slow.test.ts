import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureClusterLog, type ClusterLog } from '../../src/jetstream/cluster-log.js';
import { connectNats, type NatsHandle } from '../../src/jetstream/connection.js';
import { Follower } from '../../src/jetstream/follower.js';
import { createLogger } from '../../src/logger.js';
import { openDb } from '../../src/store/db.js';
import { Replica } from '../../src/store/replica.js';
import {
  describeWithNats,
  startNatsCluster,
  type NatsCluster,
  type NatsNode,
} from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/server.js';
import { publishToLog, STREAM } from './log-publisher.js';
import { SignedLog } from './signed-log.js';
import { Waiter } from './waiter.js';

// Time budget: ~60 s on the 2-core machine (cluster start ~1 s, two kill rounds of up to ~15 s stall each plus
// node restarts, catch-up). Each round is bounded by a 45 s wait.
interface JszConsumers {
  server_name?: string;
  account_details?: {
    stream_detail?: { name: string; consumer_detail?: { name: string; cluster?: { leader?: string } }[] }[];
  }[];
}

/** The node hosting the (R1 ephemeral) ordered consumer on `stream`, from the nodes' /jsz. */
async function consumerHost(cluster: NatsCluster, stream: string): Promise<NatsNode | undefined> {
  for (const n of cluster.nodes) {
    if (!n.running) continue;
    try {
      const res = await fetch(`${n.monitorUrl}/jsz?accounts=true&streams=true&consumers=true`, {
        signal: AbortSignal.timeout(1000),
      });
      const jsz = (await res.json()) as JszConsumers;
      for (const a of jsz.account_details ?? [])
        for (const s of a.stream_detail ?? [])
          if (s.name === stream)
            for (const c of s.consumer_detail ?? []) {
              const host = c.cluster?.leader;
              const node = cluster.nodes.find((x) => x.name === host && x.running);
              if (node) return node;
            }
    } catch {
      // a node going down: ask the next
    }
  }
  return undefined;
}

describeWithNats(
  'log follower survives kill -9 of the node hosting its consumer and of the stream leader',
  () => {
    let cluster: NatsCluster;
    let pub: NatsHandle;
    let sub: NatsHandle;
    let clusterLog: ClusterLog;

    beforeAll(async () => {
      cluster = await startNatsCluster({ size: 3 });
      pub = await connectNats({ urls: cluster.urls, name: 'kill-pub', timeoutMs: 2000 });
      sub = await connectNats({ urls: cluster.urls, name: 'kill-follower', timeoutMs: 2000 });
      clusterLog = await ensureClusterLog(pub, { replicas: 3 });
    });
    afterAll(async () => {
      await pub?.close();
      await sub?.close();
      await cluster?.stop();
    });

    it('no gap, no duplicate; the stall after each kill is bounded by the watchdog', async () => {
      const log = await SignedLog.create(clusterLog.epoch);
      const replica = Replica.open(openDb(tempDir()), clusterLog.epoch);
      const applied: number[] = [];
      const appliedAt: number[] = [];
      const waiter = new Waiter();
      const follower = new Follower({
        nc: sub.nc,
        stream: STREAM,
        nextSeq: () => replica.applied + 1,
        apply: (batch) => {
          for (const s of replica.applySequenced(batch.map((e) => e.json))) {
            applied.push(s.signal.seq);
            appliedAt.push(Date.now());
          }
          waiter.wake();
        },
        onDiverged: (detail) => {
          throw new Error(detail);
        },
        log: createLogger('silent'),
      }).start();

      // A steady publisher (~200 signals/s), retrying the same signal (same msgID, same expectation) until
      // acknowledged, so the stream holds 1..N with no hole whatever the kills do to publishing.
      let published = 0;
      let publishing = true;
      const publisher = (async () => {
        while (publishing) {
          const [json] = log.next(1);
          for (;;) {
            try {
              await publishToLog(pub, [json!], 1);
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 50)); // retry pacing, not synchronisation
            }
          }
          published++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();

      const stalls: { what: string; node: string; stallMs: number }[] = [];
      const killRound = async (what: string, pick: () => Promise<NatsNode | undefined>) => {
        await waiter.until(
          () => replica.applied >= published - 1 && replica.applied > 0,
          20_000,
          'caught up',
        );
        const victim = await pick();
        expect(victim, `${what}: no node found`).toBeDefined();
        const before = replica.applied;
        const killedAt = Date.now();
        await victim!.kill('SIGKILL');
        // Recovered = it applies signals published after the kill.
        await waiter.until(() => replica.applied > before + 20, 45_000, `${what}: follower resumes`);
        const firstAfter = appliedAt[applied.indexOf(before + 1)] ?? Date.now();
        stalls.push({ what, node: victim!.name, stallMs: firstAfter - killedAt });
        await victim!.restart();
      };

      await killRound('consumer host', () => consumerHost(cluster, STREAM));
      await killRound('stream leader', () => cluster.waitStreamLeader(STREAM));

      publishing = false;
      await publisher;
      await waiter.until(() => replica.applied === published, 30_000, 'final catch-up');
      await follower.stop();

      console.log(
        `follower kill rounds: ${stalls.map((s) => `${s.what} (${s.node}) stall ${s.stallMs} ms`).join('; ')}; ` +
          `${published} signals, ${follower.stats.sessions} consumer sessions, ${follower.stats.watchdogFirings} watchdog firings`,
      );
      expect(applied).toEqual(Array.from({ length: published }, (_, i) => i + 1));
      for (const seq of [1, Math.ceil(published / 2), published])
        expect(replica.store.getJson(seq)).toBe(log.json(seq));
      // Bounded: the watchdog (3 s) plus a re-create against a cluster that may still be electing.
      for (const s of stalls) expect(s.stallMs).toBeLessThan(30_000);
    });
  },
);
