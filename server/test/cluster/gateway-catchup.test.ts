import { expect, it } from 'vitest';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { clusterKey, startTestGateway } from './gateway-harness.js';
import { useCluster } from './cluster-fixture.js';
import { publishToLog } from './log-publisher.js';
import { SignedLog } from './signed-log.js';

// Fast project: ~10 s here (3-node cluster ~1 s, 10k R3 publishes ~2-4 s, catch-up ~1-2 s, 10k over REST and WS).
const MISSED = 10_000;

describeWithNats('a gateway restarted after missing 10k signals catches up and serves them', () => {
  const cluster = useCluster({ connect: 'catchup-test', timeoutMs: 5000, clusterLog: true });

  it('catch-up from the last applied seq, all of it over history, and a WS resume from 0 gets each seq once', async () => {
    const log = await SignedLog.create(cluster.clusterLog.epoch);
    const { key } = await clusterKey(cluster.h, 3);
    await publishToLog(cluster.h, log.next(100));
    const before = await startTestGateway(cluster.h, cluster.clusterLog);
    await pollUntil(
      'first 100 applied',
      async () => before.gw.driver.replica.applied === 100 || undefined,
      20_000,
    );
    await before.close();

    const t0 = Date.now();
    await publishToLog(cluster.h, log.next(MISSED));
    const publishMs = Date.now() - t0;
    const total = 100 + MISSED;

    const t1 = Date.now();
    const t = await startTestGateway(cluster.h, cluster.clusterLog, {
      dataDir: before.dataDir,
      waitReady: false,
      progressEvery: 2000,
    });
    await pollUntil('caught up', async () => t.gw.driver.replica.applied === total || undefined, 60_000, 20);
    const catchUpMs = Date.now() - t1;
    console.log(
      `gateway catch-up: ${MISSED} signals in ${catchUpMs} ms incl. start (${Math.round((MISSED / catchUpMs) * 1000)} signals/s); ` +
        `publishing them (R3, 256 in flight) took ${publishMs} ms`,
    );
    expect(t.logs.some((l) => l['msg'] === 'replica catching up from its last applied seq')).toBe(true);
    expect(t.logs.filter((l) => l['msg'] === 'replica catching up').length).toBeGreaterThan(0);
    await pollUntil(
      'ready',
      async () => ((await fetch(`${t.url}/readyz`)).status === 200 ? true : undefined),
      10_000,
    );

    // History: every seq, byte for byte as the cluster stored it.
    const bodies: string[] = [];
    for (let after = 0; after < total;) {
      const page = (await (await t.get(`/v1/signals?after_seq=${after}&limit=1000`, key)).json()) as {
        signals: { seq: number }[];
        next_after_seq: number;
      };
      expect(page.signals.length).toBeGreaterThan(0);
      for (const s of page.signals) bodies.push(JSON.stringify(s));
      after = page.next_after_seq;
    }
    expect(bodies.length).toBe(total);
    for (let seq = 1; seq <= total; seq++) expect(bodies[seq - 1]).toBe(log.json(seq));

    // WebSocket: resume from 0, 1..total exactly once, in order.
    const client = new ResumingStream({ url: () => t.wsUrl, key, epoch: cluster.clusterLog.epoch }).start();
    await client.until(() => client.last === total, 30_000, `replay to ${total}`);
    client.stop();
    expect(client.applied.length).toBe(total);
    expect(client.applied.every((s, i) => s === i + 1)).toBe(true);
    expect(client.duplicates).toBe(0);
    expect(client.gaps).toEqual([]);
    expect(client.unrecovered).toBe(0);
  }, 90_000); // ~16 s alone; the whole fast suite running beside it on 2 cores can double that
});
