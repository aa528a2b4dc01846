import { afterAll, beforeAll } from 'vitest';
import { ensureClusterLog, type ClusterLog } from '../../src/jetstream/cluster-log.js';
import { connectNats, type NatsHandle } from '../../src/jetstream/connection.js';
import { startNatsCluster, type NatsCluster, type NatsNode } from '../helpers/nats-cluster.js';

export interface ClusterFixtureOptions {
  /** 3 (a JetStream cluster) or 1 (standalone). Default 3. */
  size?: 1 | 3;
  /** Name of the suite's own NATS connection `h`; without it none is opened (open() makes them). */
  connect?: string;
  /** Connect timeout of `h` and of open(), ms; connectNats' default when absent. */
  timeoutMs?: number;
  /** Create the cluster log on `h` (replicas = size) before the tests, with this dedup window if given. */
  clusterLog?: boolean | { duplicateWindowMs: number };
}

/** What useCluster gives a suite; every field is filled in by its beforeAll (reading one earlier throws). */
export interface ClusterFixture {
  readonly nats: NatsCluster;
  /** Client URLs of every node (nats.urls). */
  readonly urls: string[];
  readonly nodes: NatsNode[];
  /** The connection named by `connect`. */
  readonly h: NatsHandle;
  /** The log ensureClusterLog gave when `clusterLog` was asked for. */
  readonly clusterLog: ClusterLog;
  /** Another connection (to `urls`, default every node), closed with the cluster after the suite. */
  open(name: string, urls?: string[]): Promise<NatsHandle>;
}

/**
 * The setup the cluster suites share: in beforeAll start a real nats-server cluster, optionally connect `h` and
 * ensure the cluster log on it; in afterAll close every connection (h first, then open()'s in order) and stop
 * the cluster. Call it inside the suite's describe; hooks the suite registers after it run after it.
 */
export function useCluster(o: ClusterFixtureOptions = {}): ClusterFixture {
  const size = o.size ?? 3;
  let nats: NatsCluster | undefined;
  let h: NatsHandle | undefined;
  let clusterLog: ClusterLog | undefined;
  const handles: NatsHandle[] = [];
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`useCluster: ${what} is not there (not asked for, or read before beforeAll)`);
    return value;
  };
  const connect = async (name: string, urls: string[]) => {
    const c = await connectNats({
      urls,
      name,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    });
    handles.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await startNatsCluster({ size });
    if (o.connect !== undefined) h = await connect(o.connect, nats.urls);
    if (o.clusterLog) {
      const window = typeof o.clusterLog === 'object' ? o.clusterLog : {};
      clusterLog = await ensureClusterLog(ready(h, 'h (the connect option)'), { replicas: size, ...window });
    }
  });
  afterAll(async () => {
    for (const c of handles.splice(0)) await c.close();
    await nats?.stop();
  });

  return {
    get nats() {
      return ready(nats, 'the cluster');
    },
    get urls() {
      return ready(nats, 'the cluster').urls;
    },
    get nodes() {
      return ready(nats, 'the cluster').nodes;
    },
    get h() {
      return ready(h, 'h (the connect option)');
    },
    get clusterLog() {
      return ready(clusterLog, 'the cluster log (the clusterLog option)');
    },
    open: (name, urls) => connect(name, urls ?? ready(nats, 'the cluster').urls),
  };
}
