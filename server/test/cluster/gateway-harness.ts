import { Writable } from 'node:stream';
import { onTestFinished } from 'vitest';
import type { Scope } from '@catalyst-signal/shared';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import type { ClusterLog } from '../../src/jetstream/cluster-log.js';
import type { NatsHandle } from '../../src/jetstream/connection.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type Gateway } from '../../src/roles/gateway.js';
import { insertClusterKey } from '../helpers/cluster-keys.js';
import { pollUntil } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/server.js';

export interface TestGateway {
  gw: Gateway;
  dataDir: string;
  url: string;
  wsUrl: string;
  /** Every log line (parsed JSON), for tests that check what the gateway said. */
  logs: Record<string, unknown>[];
  get(pathAndQuery: string, key: string): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A gateway in this process (startGateway, the function `serve --role gateway` calls) on 127.0.0.1 port 0,
 * with a real SQLite replica in `dataDir` (a fresh temp dir by default) fed from the given cluster.
 */
export async function startTestGateway(
  h: NatsHandle,
  cluster: ClusterLog,
  o: { dataDir?: string; config?: Partial<ConfigInput>; waitReady?: boolean; progressEvery?: number } = {},
): Promise<TestGateway> {
  const dataDir = o.dataDir ?? tempDir('catalyst-gateway-');
  const config = loadConfig({
    flags: {
      data_dir: dataDir,
      port: 0,
      host: '127.0.0.1',
      log_level: 'info',
      rest_read_per_min: 100_000,
      ...o.config,
    },
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const gw = await startGateway(config, {
    nats: h,
    cluster,
    log: createLogger('info', sink),
    follower: { idleMs: 3000 },
    lagPollMs: 500,
    ...(o.progressEvery ? { progressEvery: o.progressEvery } : {}),
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await gw.close();
  };
  onTestFinished(close);
  if (o.waitReady ?? true)
    await pollUntil(
      'gateway ready',
      async () => ((await fetch(`${gw.url}/readyz`)).status === 200 ? true : undefined),
      60_000,
    );
  return {
    gw,
    dataDir,
    url: gw.url,
    wsUrl: gw.wsUrl,
    logs,
    get: (p, key) => fetch(`${gw.url}${p}`, { headers: { authorization: `Bearer ${key}` } }),
    close,
  };
}

/** A new API key stored in the cluster's KV (only its hash), as `catalyst-server keys create` does there. */
export async function clusterKey(
  h: NatsHandle,
  replicas: 1 | 3,
  scopes: Scope[] = ['read'],
): Promise<{ id: string; key: string; keys: ClusterKeys }> {
  const keys = await ClusterKeys.open(h, replicas);
  const k = await insertClusterKey(keys, scopes);
  return { id: k.id, key: k.key, keys };
}
