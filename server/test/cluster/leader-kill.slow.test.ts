import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { ClassificationSchema } from '@catalyst-signal/shared';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { CLUSTER_NAMES, ensureClusterLog } from '../../src/jetstream/cluster-log.js';
import { connectNats } from '../../src/jetstream/connection.js';
import { ClusterKeys, toKeyRecord } from '../../src/jetstream/keys-kv.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { ChildServer } from '../helpers/child-server.js';
import { verifyClusterLog } from '../helpers/cluster-verify.js';
import { describeWithNats, pollUntil, startNatsCluster } from '../helpers/nats-cluster.js';
import { RetryingPublisher } from '../helpers/retrying-publisher.js';

const ROUNDS = 10;
const RATE = 500;

/**
 * Issue 13's failover check, end to end over HTTP: a 3-node JetStream cluster (R3), one ingest-role
 * catalyst-server child process, a publisher at 500 signals/s retrying 503s with the same source_id, and
 * kill -9 of the stream leader, then its restart, 10 times.
 *
 * Time budget: ~4 s to start; per round ~1 s of healthy ingest, 4-9 s from the kill to the first ack (nats
 * 2.9's election on a quiet machine, ../shared/notes/jetstream.md), ~2-5 s until the restarted node is current:
 * ~15 s a round, ~2.5-3 min in all on a quiet 2-core machine. Measured here with ~7 other test suites
 * sharing the 2 cores: 10-15 s outages and 20-30 s catch-ups, ~7 min; hence the test's limit of 9 min.
 */
describeWithNats('kill -9 of the JetStream stream leader during 500 signals/s ingest', () => {
  it(`${ROUNDS} rounds: no acked signal lost, seqs 1..N contiguous, one seq per source_id, only 201/200/503`, async () => {
    const cluster = await startNatsCluster({ size: 3 });
    onTestFinished(() => cluster.stop());
    const admin = await connectNats({ urls: cluster.urls, name: 'test-admin', timeoutMs: 2000 });
    onTestFinished(() => admin.close());

    // The publish key exists only in the cluster's keys bucket: the ingest node must read it from there.
    const log = await ensureClusterLog(admin, { replicas: 3 });
    const key = generateApiKey();
    await (
      await ClusterKeys.open(admin, 3)
    ).insert(
      toKeyRecord({
        id: key.id,
        name: 'leader-kill-publisher',
        scopes: ['publish'],
        hash: key.hash,
        created_at: new Date().toISOString(),
        revoked_at: null,
        expires_at: null,
      }),
    );

    const ingest = await ChildServer.start({
      args: ['--role', 'ingest'],
      keys: { adminKey: '', publishKey: key.key, readKey: '' },
      config: {
        limits_disabled: true,
        cluster: { nats_urls: cluster.urls, replicas: 3, request_timeout_ms: 2000 },
      },
    });
    const publisher = new RetryingPublisher({
      name: 'lk',
      url: () => ingest.url,
      key: key.key,
      ratePerS: RATE,
    }).start();
    onTestFinished(() => publisher.abort());

    const outages: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // A stretch of healthy ingest first, so every round kills a leader that is busy taking writes.
      const t0 = Date.now();
      const before = publisher.acked();
      await pollUntil(
        `round ${round}: ingest flowing`,
        async () => publisher.acked() >= before + 300 || undefined,
        60_000,
      );
      // The leader as the stream itself reports it (JS API), not a monitoring page that may lag under load.
      const leaderName = await pollUntil(
        `round ${round}: the stream's leader`,
        async () => (await admin.jsm.streams.info(log.stream)).cluster?.leader,
        60_000,
      );
      const leader = cluster.nodes.find((n) => n.name === leaderName)!;
      expect(leader.running).toBe(true);
      const killedAt = Date.now();
      await leader.kill('SIGKILL');
      // Usually 4-12 s (nats 2.9's election). Once, in a fresh-clone CI run with the other slow suites on the
      // same 2 cores, one round of ten took over 60 s (a standalone run then: 7-12 s every round): the bound is
      // for an ingest that never recovers, not for nats's election time, which the log line below reports.
      const first = await pollUntil(
        `round ${round}: first ack after killing ${leader.name}`,
        async () => publisher.firstAckSentAfter(killedAt),
        150_000,
      ).catch((e: Error) => {
        // What the publisher was told and what the ingest said, for whoever reads a failed run.
        console.log(
          `round ${round} stuck: answers ${JSON.stringify(Object.fromEntries(publisher.statusCounts))}, errors ${JSON.stringify(Object.fromEntries(publisher.errors))}\ningest:\n${ingest.tail.slice(-30).join('\n')}`,
        );
        throw e;
      });
      outages.push(first.ackedAt! - killedAt);
      const tFirst = Date.now();
      await leader.restart();
      const tUp = Date.now();
      // Back to three current replicas before the next kill, as an operator would wait before the next
      // maintenance. Measured here: not waiting (only "rejoined") let a kill hit a follower still catching up,
      // and that round's outage was 52 s instead of 5-15 s.
      await pollUntil(
        `round ${round}: ${leader.name} current again`,
        async () => {
          const info = await admin.jsm.streams.info(log.stream);
          const peers = info.cluster?.replicas ?? [];
          return peers.length === 2 && peers.every((p) => p.current && !p.offline) ? true : undefined;
        },
        120_000,
      );
      console.log(
        `round ${round}: killed ${leader.name}; flowing ${killedAt - t0} ms, kill->first ack ${tFirst - killedAt} ms, restart ${tUp - tFirst} ms, current ${Date.now() - tUp} ms; ${publisher.acked()} acked`,
      );
    }
    await publisher.stop();
    console.log(`kill -> first ack per round (ms): ${outages.join(', ')}`);
    console.log(
      `answers: ${JSON.stringify(Object.fromEntries(publisher.statusCounts))}, skipped ${publisher.skipped}, errors ${JSON.stringify(Object.fromEntries(publisher.errors))}`,
    );

    const publicKey = createPublicKey(readFileSync(path.join(ingest.dataDir, SIGNING_KEY_FILE)));
    const report = await verifyClusterLog(admin, log.stream, log.epoch, publicKey);
    expect(report.problems).toEqual([]);
    // Every acked seq holds that signal; every stored signal was sent by the publisher; nothing else stored.
    for (const [sourceId, s] of publisher.sent) {
      expect(report.bySource.get(sourceId), sourceId).toBe(s.seq);
      const stored = report.signals.get(sourceId)!;
      expect({ ...stored, seq: 0, epoch: '', ingested_at: '', sig: '' }).toEqual({
        ...ClassificationSchema.parse(s.body),
        seq: 0,
        epoch: '',
        ingested_at: '',
        sig: '',
      });
    }
    for (const sourceId of report.bySource.keys()) expect(publisher.sent.has(sourceId), sourceId).toBe(true);
    expect(report.lastSeq).toBe(publisher.sent.size);
    expect(report.bySource.size).toBe(publisher.sent.size);
    expect(CLUSTER_NAMES.stream).toBe(log.stream);

    // Only retryable errors and acks; every signal was eventually acked (the publisher retries until then).
    expect([...publisher.statusCounts.keys()].filter((k) => ![200, 201, 503].includes(k as number))).toEqual(
      [],
    );
    expect(publisher.statusCounts.get(503) ?? 0).toBeGreaterThan(0);
    // A 200 (duplicate) is only right for a signal whose earlier attempt went unanswered (503 or no answer).
    for (const s of publisher.sent.values()) {
      expect(s.seq, `${s.body.source_id} never acked: ${s.answers.join(',')}`).toBeDefined();
      if (s.answers.at(-1) === 200)
        expect(s.answers.slice(0, -1).some((a) => a === 503 || a === 'error')).toBe(true);
    }
  }, 540_000);
});
