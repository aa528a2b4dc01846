import os from 'node:os';
import { Gauge } from 'prom-client';
import { startServer, type LogDriverFactory, type Server } from '../app.js';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import type { ClusterLog } from '../jetstream/cluster-log.js';
import { connectNats, type NatsHandle } from '../jetstream/connection.js';
import { waitForClusterLog } from '../jetstream/wait-log.js';
import { createLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DataDirLock } from '../store/lock.js';
import { GatewayLog, type GatewayLogOptions } from './gateway-log.js';

export interface GatewayOptions {
  /** A connection to the NATS cluster (connectNats), owned by the caller: startGateway never closes it. */
  nats: NatsHandle;
  /** The cluster log (ensureClusterLog): stream name and the cluster epoch. */
  cluster: ClusterLog;
  log?: Logger;
  /** The data directory's lock, if the caller already holds it. */
  lock?: DataDirLock;
  progressEvery?: GatewayLogOptions['progressEvery'];
  lagPollMs?: GatewayLogOptions['lagPollMs'];
  follower?: GatewayLogOptions['follower'];
}

export type Gateway = Server<GatewayLog>;

/** The gateway's driver, for a process that assembles the server itself (e.g. ingest + gateway in one). */
export function gatewayLog(o: Omit<GatewayOptions, 'lock'>): LogDriverFactory<GatewayLog> {
  return async (ctx) => {
    const g = await GatewayLog.open({
      ...o,
      db: ctx.db,
      log: o.log ?? ctx.log,
      origin: ctx.config.log.origin,
      witnesses: ctx.config.log.witnesses,
    });
    registerReplicaMetrics(ctx.metrics, g);
    return g;
  };
}

/**
 * Role `gateway`: WebSocket stream (replay, resume) and REST history for clients, served from a local SQLite
 * replica of the cluster log. It never sequences and never signs; POST /v1/signals does not exist here.
 * A diverged replica (another epoch, a fork, ahead of the cluster) still listens, so that /healthz and the
 * 503 answers can say why, but serves nothing from the replica.
 */
export async function startGateway(config: Config, o: GatewayOptions): Promise<Gateway> {
  const log = o.log ?? createLogger(config.log_level);
  const server = await startServer(config, log, {
    ...(o.lock ? { lock: o.lock } : {}),
    driver: gatewayLog({ ...o, log }),
    // A gateway never signs: no key is read or written in its data directory (docs/security.md).
    signingKey: false,
  });
  // A divergence found while running: every open socket is closed (clients fail over to another gateway)
  // and new ones are answered 503 with the reason (GatewayLog.notReady).
  server.driver.onDiverged = () => server.stream.shutdown();
  return server;
}

/**
 * `serve --role gateway`: a gateway with its own NATS connection. A gateway only reads the cluster: it
 * connects, waits (saying so) until an ingest node has created the log and the keys bucket, then serves from
 * its replica. It owns the connection and closes it last.
 */
export async function startGatewayNode(
  config: Config,
  log: Logger,
  o: { lock?: DataDirLock } = {},
): Promise<Gateway> {
  const c = config.cluster;
  if (!c) throw new UsageError('the gateway role needs a cluster block in the config (cluster.nats_urls)');
  const nats = await connectNats({
    urls: c.nats_urls,
    name: `catalyst-gateway-${config.server_id ?? os.hostname()}`,
    timeoutMs: c.request_timeout_ms,
    logger: log,
    waitOnFirstConnect: true,
    ...(c.tls ? { tls: c.tls } : {}),
    ...(c.credentials_file ? { credentials_file: c.credentials_file } : {}),
  });
  try {
    const cluster = await waitForClusterLog(nats, log, c.stream);
    const gw = await startGateway(config, { nats, cluster, log, ...(o.lock ? { lock: o.lock } : {}) });
    const close = gw.close;
    return Object.assign(gw, { close: () => close().finally(() => nats.close()) });
  } catch (err) {
    await nats.close();
    throw err;
  }
}

function registerReplicaMetrics(metrics: Metrics, g: GatewayLog): void {
  const registers = [metrics.registry];
  // Ingest + gateway in one process: the ingest side already reports the cluster's last seq.
  const clusterLastKnown = metrics.registry.getSingleMetric('catalyst_cluster_last_seq') !== undefined;
  new Gauge({
    name: 'catalyst_replica_applied_seq',
    help: 'Highest seq applied to this gateway replica.',
    registers,
    collect() {
      this.set(g.replicaHealth().applied_seq);
    },
  });
  new Gauge({
    name: 'catalyst_replica_lag',
    help: 'Cluster stream last seq minus the replica applied seq (signals not yet served here).',
    registers,
    collect() {
      this.set(g.replicaHealth().replica_lag);
    },
  });
  if (!clusterLastKnown)
    new Gauge({
      name: 'catalyst_cluster_last_seq',
      help: 'Newest seq known in the cluster stream.',
      registers,
      collect() {
        this.set(g.replicaHealth().cluster_last_seq);
      },
    });
  new Gauge({
    name: 'catalyst_replica_diverged',
    help: '1 when the replica diverged from the cluster log and the gateway refuses to serve.',
    registers,
    collect() {
      this.set(g.replicaHealth().diverged ? 1 : 0);
    },
  });
  new Gauge({
    name: 'catalyst_log_follower_sessions',
    help: 'Stream consumers created by the log follower (1 + re-creations after a stall or error).',
    registers,
    collect() {
      this.set(g.followerStats?.sessions ?? 0);
    },
  });
}
