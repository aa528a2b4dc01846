import { spawnSync } from 'node:child_process';
import { beforeAll, expect, it } from 'vitest';
import { CloseCode } from '@catalyst-signal/shared';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { connect } from '../helpers/ws-client.js';
import { clusterKey, startTestGateway, type TestGateway } from './gateway-harness.js';
import { useCluster } from './cluster-fixture.js';
import { publishToLog } from './log-publisher.js';
import { SignedLog } from './signed-log.js';

const CI = process.env['CI'] === 'true';

const waitKey = (t: TestGateway, id: string, revoked = false) =>
  pollUntil(
    `gateway mirrors key ${id}${revoked ? ' as revoked' : ''}`,
    async () => {
      const row = t.gw.keys.get(id);
      return row && (row.revoked_at !== null) === revoked ? row : undefined;
    },
    10_000,
  );

describeWithNats('gateway role on a real 3-node JetStream cluster', () => {
  const cluster = useCluster({ connect: 'gateway-test', timeoutMs: 5000, clusterLog: true });
  let log: SignedLog;

  beforeAll(async () => {
    log = await SignedLog.create(cluster.clusterLog.epoch);
  });

  it('bootstraps from the stream, serves history byte for byte, replays then streams live exactly once', async () => {
    const first = log.next(300);
    await publishToLog(cluster.h, first);
    const { id, key } = await clusterKey(cluster.h, 3);
    const t = await startTestGateway(cluster.h, cluster.clusterLog);
    await waitKey(t, id);
    expect(t.gw.epoch).toBe(cluster.clusterLog.epoch);

    const res = await t.get('/v1/signals?after_seq=0&limit=1000', key);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe(
      `{"signals":[${first.join(',')}],"next_after_seq":300,"head_seq":300,"epoch":"${cluster.clusterLog.epoch}"}`,
    );
    // A gateway takes no POST: it has no sequencer.
    const post = await fetch(`${t.url}/v1/signals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).not.toBe(201);

    const client = new ResumingStream({ url: () => t.wsUrl, key, epoch: cluster.clusterLog.epoch }).start();
    await client.until(() => client.last === 300, 20_000, 'replay to 300');
    const live = log.next(200);
    await publishToLog(cluster.h, live);
    await client.until(() => client.last === 500, 20_000, 'live to 500');
    client.stop();
    expect(client.applied).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(client.duplicates).toBe(0);
    expect(client.gaps).toEqual([]);
    expect(client.badEpoch).toBe(0);

    const health = (await (await fetch(`${t.url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ epoch: cluster.clusterLog.epoch, head_seq: 500 });
    expect(health['replica']).toMatchObject({ role: 'gateway', applied_seq: 500, replica_lag: 0 });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^catalyst_replica_applied_seq 500$/m);
    expect(metrics).toMatch(/^catalyst_replica_lag 0$/m);
    // The gateway's own gauges pass the same lint as the rest (metrics-lint.test.ts; CI has promtool).
    if (spawnSync('promtool', ['--version']).status === 0 || CI) {
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
      expect(`exit ${lint.status}\n${lint.stdout}${lint.stderr}`).toBe('exit 0\n');
    }
    expect(t.logs.some((l) => l['msg'] === 'replica bootstrapping from the cluster stream')).toBe(true);
  });

  it("serves the cluster's signing key (it holds none): 503 until an ingest node recorded it", async () => {
    const t = await startTestGateway(cluster.h, cluster.clusterLog);
    const none = await fetch(`${t.url}/v1/keys/signing`);
    expect(none.status).toBe(503);
    // What the first ingest node does at start (jetstream/cluster-log.ts ensureSigningKey).
    await cluster.clusterLog.meta.put('signing_jwk', JSON.stringify(log.jwk));
    const jwks = await pollUntil(
      'the gateway serves the JWK',
      async () => {
        const r = await fetch(`${t.url}/v1/keys/signing`);
        return r.status === 200 ? ((await r.json()) as unknown) : undefined;
      },
      10_000,
    );
    expect(jwks).toEqual({ keys: [log.jwk] });
    await cluster.clusterLog.meta.delete('signing_jwk');
  });

  it('a key revoked in the cluster closes its open sockets on the gateway, as in single-node mode', async () => {
    const { id, key, keys } = await clusterKey(cluster.h, 3);
    const t = await startTestGateway(cluster.h, cluster.clusterLog);
    await waitKey(t, id);
    const ws = connect(t.wsUrl, key);
    await ws.opened;
    await ws.until((): boolean => ws.frames.some((f) => f.type === 'hello'), 5000, 'hello');
    expect(await keys.revoke(id)).toBe(true);
    expect(await ws.closed(10_000)).toBe(CloseCode.revoked.code);
    await waitKey(t, id, true);
    expect((await t.get('/v1/signals', key)).status).toBe(401);
  });
});
