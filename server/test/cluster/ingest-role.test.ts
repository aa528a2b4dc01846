import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import type { Scope } from '@catalyst-signal/shared';
import { loadConfig } from '../../src/config.js';
import { CLUSTER_NAMES } from '../../src/jetstream/cluster-log.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { createLogger } from '../../src/logger.js';
import { startIngest, type IngestServer } from '../../src/roles/ingest.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { insertClusterKey } from '../helpers/cluster-keys.js';
import { classification } from '../helpers/server.js';
import { useCluster } from './cluster-fixture.js';

describeWithNats('ingest role on a real 3-node cluster', () => {
  const cluster = useCluster({ connect: 'ingest-test-admin', timeoutMs: 2000 });
  let keys: ClusterKeys;
  let ingest: IngestServer;
  let publishKey: string;
  let publishId: string;
  let dataDir = '';

  const newKey = (scopes: Scope[]) => insertClusterKey(keys, scopes);
  const post = (body: unknown, key = publishKey) =>
    fetch(`${ingest.url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    keys = await ClusterKeys.open(cluster.h, 3);
    // A key that exists before the node starts: the node must not answer 401 for it from its first request.
    const k = await newKey(['publish']);
    publishKey = k.key;
    publishId = k.id;
    const config = loadConfig({
      flags: {
        data_dir: (dataDir = mkdtempSync(path.join(os.tmpdir(), 'catalyst-ingest-'))),
        port: 0,
        host: '127.0.0.1',
        log_level: 'silent',
        cluster: { nats_urls: cluster.urls, replicas: 3, request_timeout_ms: 1000 },
      },
    });
    ingest = await startIngest(config, createLogger('silent'));
  });
  afterAll(async () => {
    await ingest?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('201 with the stream seq, 200 for the repeat; the stream holds the signed signal', async () => {
    const c = classification();
    const r1 = await post(c);
    expect(r1.status).toBe(201);
    const a = (await r1.json()) as { seq: number; duplicate: boolean; epoch: string };
    expect(a).toMatchObject({ seq: 1, duplicate: false });
    const r2 = await post(c);
    expect(r2.status).toBe(200);
    expect(await r2.json()).toMatchObject({ seq: 1, duplicate: true, epoch: a.epoch });
    const m = await cluster.h.jsm.streams.getMessage(CLUSTER_NAMES.stream, { seq: 1 });
    expect(JSON.parse(m!.string())).toMatchObject({ source_id: c.source_id, seq: 1, epoch: a.epoch });
    const batch = [classification(), classification()];
    const r3 = await post(batch);
    expect(r3.status).toBe(201);
    expect(((await r3.json()) as { results: { seq: number }[] }).results.map((r) => r.seq)).toEqual([2, 3]);
  });

  it('keys come from the cluster: a new key works, a revoked one stops within seconds, read scope cannot publish', async () => {
    const fresh = await newKey(['publish']);
    await pollUntil(
      'the new key to work',
      async () => ((await post(classification(), fresh.key)).status === 201 ? true : undefined),
      5000,
    );
    const reader = await newKey(['read']);
    await pollUntil(
      'the read key to be known',
      async () => ((await post(classification(), reader.key)).status === 403 ? true : undefined),
      5000,
    );
    expect(await keys.revoke(fresh.id)).toBe(true);
    await pollUntil(
      'the revoked key to be refused',
      async () => ((await post(classification(), fresh.key)).status === 401 ? true : undefined),
      5000,
    );
    expect((await post(classification())).status).toBe(201);
    expect(publishId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('the admin API on an ingest node creates and revokes keys in the cluster, effective here at once', async () => {
    const adminKey = (await newKey(['admin'])).key;
    const api = (method: string, p: string, body?: unknown) =>
      fetch(`${ingest.url}${p}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    let created!: Response;
    await pollUntil(
      'the admin key to be known',
      async () => {
        created = await api('POST', '/v1/admin/keys', { name: 'via-rest', scopes: ['publish'] });
        return created.status === 201 ? true : undefined;
      },
      5000,
    );
    const k = (await created.json()) as { id: string; key: string };
    expect((await keys.get(k.id))?.name).toBe('via-rest');
    expect((await post(classification(), k.key)).status).toBe(201);
    expect((await api('DELETE', `/v1/admin/keys/${k.id}`)).status).toBe(204);
    expect((await keys.get(k.id))?.revoked_at).not.toBeNull();
    expect((await post(classification(), k.key)).status).toBe(401);
  });

  it('healthz and metrics show the cluster; no history or WebSocket on an ingest node', async () => {
    const h = (await (await fetch(`${ingest.url}/healthz`)).json()) as {
      cluster: { reachable: boolean; last_seq: number };
    };
    expect(h.cluster.reachable).toBe(true);
    await pollUntil(
      'the stream sample to reach seq 3',
      async () => {
        const text = await (await fetch(`${ingest.url}/metrics`)).text();
        const m = /^catalyst_cluster_last_seq (\d+)/m.exec(text);
        return m && Number(m[1]) >= 3 ? true : undefined;
      },
      10_000,
    );
    const metrics = await (await fetch(`${ingest.url}/metrics`)).text();
    expect(metrics).toMatch(/^catalyst_cluster_replicas\{state="current"\} 2$/m);
    expect(metrics).toMatch(/^catalyst_cluster_reachable 1$/m);
    expect(
      (
        await fetch(`${ingest.url}/v1/signals?after_seq=0`, {
          headers: { authorization: `Bearer ${publishKey}` },
        })
      ).status,
    ).toBe(405);
  });

  it('with the cluster down: 503 + Retry-After (never 201), readyz 503; after the restart the same source_id lands once', async () => {
    const c = classification();
    await Promise.all(cluster.nodes.map((n) => n.kill()));
    onTestFinished(async () => {
      for (const n of cluster.nodes) if (!n.running) await n.restart();
    });
    const r = await post(c);
    expect(r.status).toBe(503);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await pollUntil(
      'readyz to say the cluster is unreachable',
      async () => ((await fetch(`${ingest.url}/readyz`)).status === 503 ? true : undefined),
      15_000,
    );
    await Promise.all(cluster.nodes.map((n) => n.restart()));
    const ok = await pollUntil(
      'the retry to be acked',
      async () => {
        const res = await post(c);
        if (res.status === 503) return undefined;
        return res;
      },
      60_000,
    );
    expect([200, 201]).toContain(ok.status);
    const seq = ((await ok.json()) as { seq: number }).seq;
    const info = await cluster.h.jsm.streams.info(CLUSTER_NAMES.stream);
    expect(info.state.last_seq).toBe(seq);
  });
});
