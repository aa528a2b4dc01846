import { describe, it, onTestFinished } from 'vitest';
import type { Scope } from '@catalyst-signal/shared';
import type { Server } from '../../src/app.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { connectNats } from '../../src/jetstream/connection.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { createLogger } from '../../src/logger.js';
import { startGatewayNode } from '../../src/roles/gateway.js';
import { startBoth } from '../../src/roles/both.js';
import { startIngest } from '../../src/roles/ingest.js';
import { openDb } from '../../src/store/db.js';
import { KeyStore } from '../../src/store/keys.js';
import { insertClusterKey } from './cluster-keys.js';
import { natsSkipName, natsTestsRun, pollUntil, startNatsCluster } from './nats-cluster.js';
import { startTestServer, tempDir } from './server.js';

/**
 * What the acceptance suites (resume, history paging, auth, limits) run against, so each proves the same
 * behaviour on every way of deploying the server:
 * - `single node`: one `serve` process, SQLite log (startTestServer);
 * - `gateway`: cluster mode as `serve --role ingest` + `serve --role gateway` assemble it (startIngest,
 *   startGatewayNode) on a real standalone JetStream node. Publishers POST to the ingest node; clients read,
 *   resume and page on the gateway, whose replica is fed from the stream;
 * - `both`: cluster mode as `serve --role both` (startBoth): one process takes the POSTs and serves the
 *   clients from its replica, which the stream feeds as it feeds a gateway.
 */
export type TargetKind = 'single node' | 'gateway' | 'both';

export interface Target {
  kind: TargetKind;
  /** The server clients talk to (REST history, WebSocket): the single node, the gateway or the both-node. */
  server: Server;
  url: string;
  wsUrl: string;
  /** Where POST /v1/signals and the admin API live: the single node, the ingest node or the both-node. */
  ingestUrl: string;
  /** The client-facing server's data directory. */
  dataDir: string;
  epoch: string;
  adminKey: string;
  publishKey: string;
  readKey: string;
  /**
   * POST one classification or a batch with the publish key. On a cluster target it resolves once the reader's
   * replica has applied every seq the ingest side acked, so a test reads its writes as it would on a single node
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
 * The kinds this run can start: the cluster targets only where the nats tests run (natsTestsRun: nats-server
 * installed, or CI=true, where a missing binary fails loudly). Otherwise `describeTargets` says so in a skipped test.
 */
export function targetKinds(): TargetKind[] {
  return natsTestsRun() ? ['single node', 'gateway', 'both'] : ['single node'];
}

/** `describe(name)` once per target kind, named `name [kind]`, `fn` gets the kind to pass to startTarget. */
export function describeTargets(name: string, fn: (kind: TargetKind) => void): void {
  for (const kind of targetKinds()) describe(`${name} [${kind}]`, () => fn(kind));
  // Local runs without nats-server only (see targetKinds): the reason is in the test's name.
  if (!targetKinds().includes('gateway')) it.skip(natsSkipName(`${name} [gateway, both]`), () => {});
}

export function startTarget(kind: TargetKind, overrides: Partial<ConfigInput> = {}): Promise<Target> {
  return kind === 'single node' ? startSingleTarget(overrides) : startClusterTarget(kind, overrides);
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

/** The parts of a cluster-mode deployment a target needs, whichever processes hold them. */
interface ClusterNodes {
  /** Where clients read (the gateway, or the both-node). */
  reader: Server;
  /** Where POST /v1/signals and the admin API are (the ingest node, or the both-node). */
  ingest: Server;
  /** The newest seq the ingest side acked. */
  ackedHead(): number;
  /** What `db prune` deletes from: the reader's replica. */
  replicaStore: { pruneBefore(ms: number): number };
  dataDir: string;
}

/**
 * Cluster mode on a real standalone JetStream node: `gateway` = `serve --role ingest` + `serve --role gateway`
 * (two servers), `both` = `serve --role both` (one server that is both).
 */
async function startClusterTarget(
  kind: 'gateway' | 'both',
  overrides: Partial<ConfigInput>,
): Promise<Target> {
  // Directories first: vitest runs a test's finish hooks last-registered first, so the servers (closed by the
  // hook registered below) stop before their directories are removed.
  const dirs = [tempDir(`catalyst-${kind}-`), tempDir('catalyst-ingest-')] as const;
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
      flags: {
        data_dir: dir,
        port: 0,
        host: '127.0.0.1',
        log_level: 'silent',
        ...overrides,
        // A test's cluster keys (e.g. ingest_url) beside the real cluster's connection, which wins.
        cluster: { ...overrides.cluster, ...cluster },
      },
    });
  const log = createLogger('silent');
  let n: ClusterNodes;
  if (kind === 'both') {
    const both = await startBoth(config(dirs[0]), log);
    stops.push(() => both.close());
    n = {
      reader: both,
      ingest: both,
      ackedHead: () => both.driver.sequencer.head,
      replicaStore: both.driver.gateway.replica.store,
      dataDir: dirs[0],
    };
  } else {
    const ingest = await startIngest(config(dirs[1]), log);
    stops.push(() => ingest.close());
    const gw = await startGatewayNode(config(dirs[0]), log);
    stops.push(() => gw.close());
    n = {
      reader: gw,
      ingest,
      ackedHead: () => ingest.driver.sequencer.head,
      replicaStore: gw.driver.replica.store,
      dataDir: dirs[0],
    };
  }
  const { reader, ingest } = n;
  await pollUntil(
    `the ${kind} node to be ready`,
    async () => ((await fetch(`${reader.url}/readyz`)).status === 200 ? true : undefined),
    30_000,
  );
  const mirrored = (id: string) =>
    pollUntil(`the ${kind} node to mirror key ${id}`, async () => reader.keys.get(id), 10_000);
  await Promise.all([adminKey, publishKey, readKey].map((k) => mirrored(k.id)));

  // The ingest side's newest acked seq, and when the reader's replica has applied it.
  const head = () => reader.driver.reader!.head;
  const synced = () => {
    const want = n.ackedHead();
    return pollUntil(
      `the ${kind} node to apply seq ${want}`,
      async () => (head() >= want ? true : undefined),
      20_000,
      5,
    );
  };
  return {
    kind,
    server: reader,
    url: reader.url,
    wsUrl: reader.wsUrl,
    ingestUrl: ingest.url,
    dataDir: n.dataDir,
    epoch: reader.epoch,
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
    get: (p, key = readKey.key) =>
      fetch(`${reader.url}${p}`, { headers: { authorization: `Bearer ${key}` } }),
    head,
    createKey: async (scopes) => {
      const k = await newKey(scopes);
      await mirrored(k.id);
      return k.key;
    },
    revokeElsewhere: async (id) => {
      if (!(await keys.revoke(id))) throw new Error(`no active key ${id} in the cluster`);
    },
    pruneBefore: (ms) => void n.replicaStore.pruneBefore(ms),
    close,
  };
}
