import { describe, it, onTestFinished } from 'vitest';
import type { Scope } from '@catalyst-signal/shared';
import type { Server } from '../../src/app.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { connectNats } from '../../src/jetstream/connection.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { createLogger } from '../../src/logger.js';
import { startGatewayNode } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import { openDb } from '../../src/store/db.js';
import { KeyStore } from '../../src/store/keys.js';
import { insertClusterKey } from './cluster-keys.js';
import { natsSkipName, natsTestsRun, pollUntil, startNatsCluster } from './nats-cluster.js';
import { startTestServer, tempDir } from './server.js';

/**
 * What the acceptance suites (resume, history paging, auth, limits) run against, so each proves the same
 * behaviour on both ways of deploying the server:
 * - `single node`: one `serve` process, SQLite log (startTestServer);
 * - `gateway`: cluster mode as `serve --role ingest` + `serve --role gateway` assemble it (startIngest,
 *   startGatewayNode) on a real standalone JetStream node. Publishers POST to the ingest node; clients read,
 *   resume and page on the gateway, whose replica is fed from the stream.
 */
export type TargetKind = 'single node' | 'gateway';

export interface Target {
  kind: TargetKind;
  /** The server clients talk to (REST history, WebSocket): the single node, or the gateway. */
  server: Server;
  url: string;
  wsUrl: string;
  /** Where POST /v1/signals and the admin API live: the single node, or the ingest node. */
  ingestUrl: string;
  /** The client-facing server's data directory. */
  dataDir: string;
  epoch: string;
  adminKey: string;
  publishKey: string;
  readKey: string;
  /**
   * POST one classification or a batch with the publish key. On a gateway target it resolves once the gateway
   * has applied every seq the ingest node acked, so a test reads its writes as it would on a single node
   * (clients already connected get them live either way).
   */
  post(body: unknown, init?: { key?: string; contentType?: string }): Promise<Response>;
  /** GET on the client-facing server, with the read key by default. */
  get(pathAndQuery: string, key?: string): Promise<Response>;
  /** Newest seq the client-facing server serves. */
  head(): number;
  /** A new API key, usable at the client-facing server when this resolves. */
  createKey(scopes: Scope[]): Promise<string>;
  /** Revoke a key the way another process does: the CLI on the database, or on the cluster's key bucket. */
  revokeElsewhere(id: string): Promise<void>;
  /** Delete the client-facing server's stored signals ingested before `ms` (what `db prune` does). */
  pruneBefore(ms: number): void;
  close(): Promise<void>;
}

/**
 * The kinds this run can start: the gateway target only where the nats tests run (natsTestsRun: nats-server
 * installed, or CI=true, where a missing binary fails loudly). Otherwise `describeTargets` says so in a skipped test.
 */
export function targetKinds(): TargetKind[] {
  return natsTestsRun() ? ['single node', 'gateway'] : ['single node'];
}

/** `describe(name)` once per target kind, named `name [kind]`, `fn` gets the kind to pass to startTarget. */
export function describeTargets(name: string, fn: (kind: TargetKind) => void): void {
  for (const kind of targetKinds()) describe(`${name} [${kind}]`, () => fn(kind));
  // Local runs without nats-server only (see targetKinds): the reason is in the test's name.
  if (!targetKinds().includes('gateway')) it.skip(natsSkipName(`${name} [gateway]`), () => {});
}

export function startTarget(kind: TargetKind, overrides: Partial<ConfigInput> = {}): Promise<Target> {
  return kind === 'gateway' ? startGatewayTarget(overrides) : startSingleTarget(overrides);
}

async function startSingleTarget(overrides: Partial<ConfigInput>): Promise<Target> {
  const t = await startTestServer(overrides);
  return {
    kind: 'single node',
    server: t.server,
    url: t.url,
    wsUrl: t.wsUrl,
    ingestUrl: t.url,
    dataDir: t.dataDir,
    epoch: t.server.epoch,
    adminKey: t.adminKey,
    publishKey: t.publishKey,
    readKey: t.readKey,
    post: t.post,
    get: t.get,
    head: () => t.server.driver.store.head,
    createKey: async (scopes) => {
      const { key } = createApiKey(t.server.keys, `k-${scopes.join('-')}-${Math.random()}`, scopes);
      t.server.auth.refresh();
      return key;
    },
    revokeElsewhere: async (id) => {
      const other = openDb(t.dataDir);
      try {
        new KeyStore(other).revoke(id);
      } finally {
        other.close();
      }
    },
    pruneBefore: (ms) => void t.server.driver.store.pruneBefore(ms),
    close: t.close,
  };
}

async function startGatewayTarget(overrides: Partial<ConfigInput>): Promise<Target> {
  // Directories first: vitest runs a test's finish hooks last-registered first, so the servers (closed by the
  // hook registered below) stop before their directories are removed.
  const ingestDir = tempDir('catalyst-ingest-');
  const gwDir = tempDir('catalyst-gateway-');
  const nats = await startNatsCluster({ size: 1 });
  const stops: (() => Promise<unknown>)[] = [() => nats.stop()];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  onTestFinished(close);
  const cluster = { nats_urls: nats.urls, replicas: 1 as const, request_timeout_ms: 2000 };
  // The test's own NATS connection: what `catalyst-server keys … -c <config>` uses on the key bucket.
  const admin = await connectNats({ urls: nats.urls, name: 'target-admin', timeoutMs: 5000 });
  stops.push(() => admin.close());
  const keys = await ClusterKeys.open(admin, 1);
  const newKey = (scopes: Scope[]) => insertClusterKey(keys, scopes);
  // Keys first, as an operator does before pointing publishers and friends at the cluster.
  const [adminKey, publishKey, readKey] = await Promise.all([
    newKey(['admin']),
    newKey(['publish']),
    newKey(['read']),
  ]);
  const config = (dir: string) =>
    loadConfig({
      flags: { data_dir: dir, port: 0, host: '127.0.0.1', log_level: 'silent', cluster, ...overrides },
    });
  const ingest = await startIngest(config(ingestDir), createLogger('silent'));
  stops.push(() => ingest.close());
  const gw = await startGatewayNode(config(gwDir), createLogger('silent'));
  stops.push(() => gw.close());
  await pollUntil(
    'the gateway to be ready',
    async () => ((await fetch(`${gw.url}/readyz`)).status === 200 ? true : undefined),
    30_000,
  );
  const mirrored = (id: string) =>
    pollUntil(`the gateway to mirror key ${id}`, async () => gw.keys.get(id), 10_000);
  await Promise.all([adminKey, publishKey, readKey].map((k) => mirrored(k.id)));

  // The ingest node's newest acked seq, and when the gateway has applied it.
  const synced = () => {
    const want = ingest.driver.sequencer.head;
    return pollUntil(
      `the gateway to apply seq ${want}`,
      async () => (gw.driver.reader.head >= want ? true : undefined),
      20_000,
      5,
    );
  };
  return {
    kind: 'gateway',
    server: gw,
    url: gw.url,
    wsUrl: gw.wsUrl,
    ingestUrl: ingest.url,
    dataDir: gwDir,
    epoch: gw.epoch,
    adminKey: adminKey.key,
    publishKey: publishKey.key,
    readKey: readKey.key,
    post: async (body, init = {}) => {
      const res = await fetch(`${ingest.url}/v1/signals`, {
        method: 'POST',
        headers: {
          'content-type': init.contentType ?? 'application/json',
          authorization: `Bearer ${init.key ?? publishKey.key}`,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      if (res.ok) await synced();
      return res;
    },
    get: (p, key = readKey.key) => fetch(`${gw.url}${p}`, { headers: { authorization: `Bearer ${key}` } }),
    head: () => gw.driver.reader.head,
    createKey: async (scopes) => {
      const k = await newKey(scopes);
      await mirrored(k.id);
      return k.key;
    },
    revokeElsewhere: async (id) => {
      if (!(await keys.revoke(id))) throw new Error(`no active key ${id} in the cluster`);
    },
    pruneBefore: (ms) => void gw.driver.replica.store.pruneBefore(ms),
    close,
  };
}
