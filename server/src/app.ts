import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import uWS from 'uWebSockets.js';
import { DEFAULTS } from '@catalyst-signal/shared';
import { Authenticator } from './auth/authenticator.js';
import { createJwtVerifier } from './auth/jwt.js';
import type { Config } from './config.js';
import { registerRoutes } from './http/routes.js';
import { registerStatusPage, registerTrackRecordPage } from './http/status-page.js';
import { createLimits } from './limits.js';
import type { SignalLogDriver, SignalLogReader } from './log/types.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createSigner, loadOrCreateSigningKey, type Signer } from './signing.js';
import { startCheckpointer } from './store/checkpointer.js';
import { DB_FILE, dbSizeBytes, openDb, restoreAutoCheckpoint, type Db } from './store/db.js';
import { KeyStore } from './store/keys.js';
import { lockDataDir, type DataDirLock } from './store/lock.js';
import { SqliteLog } from './store/sqlite-log.js';
import { StatusHub } from './status/hub.js';
import { defaultPageDir, loadPageFiles } from './status/page-files.js';
import { signalSigner } from './log/leaf.js';
import { CheckpointFeed } from './ws/checkpoint-feed.js';
import { Stream } from './ws/stream.js';
import type { OutcomeDb } from './store/outcome-db.js';
import { startClusterOutcomes, startOutcomes } from './outcomes/start.js';

export interface Server<D extends SignalLogDriver = SignalLogDriver> {
  port: number;
  /** http://host:port */
  url: string;
  /** ws://host:port */
  wsUrl: string;
  epoch: string;
  transport: string;
  /** This node's signing key; undefined on a node that never signs (a cluster gateway). */
  signer: Signer | undefined;
  /** The signal log this server was assembled from (SqliteLog unless a driver was passed in). */
  driver: D;
  keys: KeyStore;
  auth: Authenticator;
  metrics: Metrics;
  /** The WebSocket edge and fan-out; only a node with a log reader has one. */
  stream: D extends { reader: SignalLogReader } ? Stream : Stream | undefined;
  /** The outcome worker (docs/outcomes.md): whether this node computes now (a cluster's lease holder). */
  outcomes: { readonly computing: boolean } | undefined;
  /** Stop accepting, close sockets with 1001, finish in-flight commits, close the database. Safe to call twice. */
  close(): Promise<void>;
}

/** What a log driver is built from. The data directory's database is open either way (API keys live there). */
export interface LogContext {
  config: Config;
  db: Db;
  /** undefined when the server was started with `signingKey: false` (a gateway: it never signs). */
  signer: Signer | undefined;
  metrics: Metrics;
  log: Logger;
}

/** Builds the server's signal log once the data directory, signer and metrics exist. */
export type LogDriverFactory<D extends SignalLogDriver> = (ctx: LogContext) => D | Promise<D>;

/** The default: the single-node log in the data directory's SQLite file. */
export const sqliteLog: LogDriverFactory<SqliteLog> = (ctx) => {
  const signer = ctx.signer;
  if (!signer) throw new Error('the single-node log signs signals: it needs a signing key');
  return new SqliteLog(ctx.db, {
    sign: signalSigner(signer, ctx.config.log.signal_signatures),
    metrics: ctx.metrics,
    groupCommitMax: ctx.config.group_commit_max,
    checkpoints: {
      origin: ctx.config.log.origin,
      intervalMs: ctx.config.log.checkpoint_interval_ms,
      key: signer,
      log: ctx.log,
      witnesses: ctx.config.log.witnesses,
    },
    onPublishError: (err) =>
      ctx.log.error({ err }, 'fan-out failed after commit; subscribers will resume from the log'),
  });
};

/** Which uWS build is running: the native addon, or the trufflesuite package's pure-JS fallback. */
export function uwsTransport(): string {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = path.join(
    dir,
    'binaries',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  const fallback = /^(true|1)$/i.test(process.env.UWS_USE_FALLBACK ?? '') || !existsSync(binary);
  return fallback ? 'uws-js-fallback' : `uws-native (abi ${process.versions.modules})`;
}

/** Another process (or app) listens on the port: we listen exclusively rather than share it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(host: string, port: number) {
    super(`port ${port} on ${host} is already in use (another catalyst-server?)`);
  }
}

/** uWS's LIBUS_LISTEN_EXCLUSIVE_PORT (its typings only declare the flag for listen(port, options, cb)). */
const LISTEN_EXCLUSIVE_PORT = 1;
type ListenWithHost = (
  host: string,
  port: number,
  options: number,
  cb: (s: uWS.us_listen_socket | false) => void,
) => void;

/**
 * Listen without SO_REUSEPORT. uWS's default sets it, so a second server on the same port would also
 * "listen" and the kernel would split connections between the two; exclusive, the second one fails.
 */
function listenExclusive(app: uWS.TemplatedApp, host: string, port: number): Promise<uWS.us_listen_socket> {
  return new Promise((resolve, reject) =>
    (app.listen as unknown as ListenWithHost).call(app, host, port, LISTEN_EXCLUSIVE_PORT, (s) =>
      s ? resolve(s) : reject(new PortInUseError(host, port)),
    ),
  );
}

export interface StartOptions<D extends SignalLogDriver = SqliteLog> {
  /** The data directory's lock, already held by the caller (serve takes it before its first-start work). */
  lock?: DataDirLock;
  /** The signal log to assemble the server from; the SQLite log in the data directory by default. */
  driver?: LogDriverFactory<D>;
  /**
   * false: no signing key is read or created in the data directory (a gateway: it never signs, and an unused
   * key on disk is one more secret to steal). Default true.
   */
  signingKey?: boolean;
}

/** Wire everything and listen. Flat on purpose: this is the one place that knows all the parts. */
export function startServer(
  config: Config,
  log?: Logger,
  opts?: StartOptions<SqliteLog>,
): Promise<Server<SqliteLog>>;
export function startServer<D extends SignalLogDriver>(
  config: Config,
  log: Logger | undefined,
  opts: StartOptions<D> & { driver: LogDriverFactory<D> },
): Promise<Server<D>>;
export async function startServer(
  config: Config,
  log: Logger = createLogger(config.log_level),
  opts: StartOptions<SignalLogDriver> = {},
): Promise<Server> {
  const lock = opts.lock ?? lockServedDir(config.data_dir);
  try {
    return await start(config, log, lock, opts.driver ?? sqliteLog, opts.signingKey ?? true);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Create the data directory if needed (serve's first start) and hold its lock. */
export function lockServedDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return lockDataDir(dataDir);
}

async function start(
  config: Config,
  log: Logger,
  lock: DataDirLock,
  makeDriver: LogDriverFactory<SignalLogDriver>,
  signingKey: boolean,
): Promise<Server> {
  const db = openDb(config.data_dir, {
    sync: config.sync,
    busyTimeoutMs: config.busy_timeout_ms,
    externalCheckpoints: true,
  });
  const checkpointer = startCheckpointer(path.join(config.data_dir, DB_FILE), (err) => {
    log.error({ err }, 'WAL checkpoint thread failed; SQLite checkpoints on commit from now on');
    restoreAutoCheckpoint(db);
  });
  let driver: SignalLogDriver | undefined;
  let stream: Stream | undefined;
  let status: StatusHub | undefined;
  let outcomes: { db: OutcomeDb; readonly computing: boolean; stop(): Promise<void> } | undefined;
  try {
    const keys = new KeyStore(db);
    const signer = signingKey ? await createSigner(loadOrCreateSigningKey(config.data_dir).key) : undefined;
    const jwt = config.jwt ? await createJwtVerifier(config.jwt) : undefined;
    const auth = new Authenticator(keys, jwt);
    const limits = createLimits(config);
    const transport = uwsTransport();
    const serverId = config.server_id ?? os.hostname();

    const app = uWS.App();
    const metrics = createMetrics(
      () => dbSizeBytes(config.data_dir),
      () => stream?.connected ?? 0,
    );
    driver = await makeDriver({ config, db, signer, metrics, log });
    const { reader, sequencer } = driver;
    const position = reader ?? sequencer;
    if (!position) throw new Error(`the ${driver.kind} log has neither a reader nor a sequencer`);
    if (reader) {
      const d = driver;
      // The operator's status: built from the metrics, the reader's position and the stream's sockets, so it
      // is the same whichever driver holds the log.
      status = new StatusHub({
        metrics,
        serverId,
        startedAt: Date.now(),
        log,
        position: () => ({ epoch: reader.epoch, head: reader.head, firstSeq: reader.firstSeq() }),
        replica: driver.statusReplica ? () => d.statusReplica?.() : undefined,
      });
      const feed =
        d.transparency &&
        new CheckpointFeed(app, {
          source: d.transparency,
          intervalMs: config.log.checkpoint_interval_ms,
          signalSigs: config.log.signal_signatures,
          maxProofs: DEFAULTS.maxCheckpointProofs,
          log,
        });
      stream = new Stream(app, {
        config,
        reader,
        auth,
        limits,
        metrics,
        log,
        serverId,
        unavailable: () => d.refuseClients?.(),
        aheadWaitMs: d.aheadWaitMs ?? 0,
        logHead: d.logHead ? () => d.logHead!() : undefined,
        status,
        checkpoints: feed,
        witnesses: d.witnesses,
      });
      if (feed) d.witnesses?.onCosigned((size) => feed.cosigned(size));
      driver.attach(stream);
    }
    // Outcomes (docs/outcomes.md): a single node computes its own; in cluster mode every node with a replica
    // mirrors what the lease holder published, and `both` nodes with an outcomes block contend to compute.
    // Started before the routes, which serve the track record from the same store.
    const link = driver.outcomeCluster;
    const c = config.cluster;
    if (link && c && reader)
      outcomes = await startClusterOutcomes(config.outcomes, config.data_dir, reader, log, {
        ...link,
        replicas: c.replicas,
        node: `${serverId}-${process.pid}-${randomBytes(4).toString('hex')}`,
        termMs: c.lease_term_ms,
        skewMs: c.lease_skew_ms,
      });
    else if (config.outcomes && !link && reader)
      outcomes = startOutcomes(config.outcomes, config.data_dir, reader, log);
    else if (config.outcomes)
      log.warn(
        { log: driver.kind },
        'outcomes are computed on single nodes and `both` nodes only; not started',
      );
    const pages = loadPageFiles(defaultPageDir());
    registerStatusPage(app, pages);
    registerTrackRecordPage(app, pages);
    registerRoutes({
      app,
      auth,
      limits,
      metrics,
      log,
      config,
      reader,
      sequencer,
      keys,
      signer,
      transport,
      notReady: () => driver!.notReady(),
      // On a cluster node, whether it holds the outcomes lease and computes now (docs/outcomes.md).
      health: () => ({
        ...driver!.health?.(),
        ...(outcomes && driver!.outcomeCluster ? { outcomes_computer: outcomes.computing } : {}),
      }),
      ...(driver.jwks ? { jwks: () => driver!.jwks?.() } : {}),
      keyAdmin: driver.keyAdmin,
      transparency: driver.transparency,
      trackRecord: outcomes?.db,
    });

    const listenSocket = await listenExclusive(app, config.host, config.port);
    const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
    const touch = setInterval(() => keys.touch(auth.drainUsed()), 10_000);
    touch.unref();

    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    log.info(
      {
        port,
        host: config.host,
        transport,
        log: driver.kind,
        epoch: position.epoch,
        head_seq: position.head,
        sync: config.sync,
        signing_key: signer?.fingerprint ?? null,
        ...(driver.transparency ? { log_vkey: driver.transparency.vkey } : {}),
      },
      'listening',
    );

    const running = driver;
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        uWS.us_listen_socket_close(listenSocket);
        status?.stop();
        stream?.shutdown();
        await outcomes?.stop();
        await running.close();
        clearInterval(touch);
        keys.touch(auth.drainUsed());
        await checkpointer.stop();
        db.close();
        lock.release();
        log.info('closed');
      })());

    return {
      port,
      url: `http://${host}:${port}`,
      wsUrl: `ws://${host}:${port}`,
      epoch: position.epoch,
      transport,
      signer,
      driver,
      keys,
      auth,
      metrics,
      stream,
      outcomes,
      close,
    };
  } catch (err) {
    await outcomes?.stop();
    status?.stop();
    stream?.shutdown();
    await driver?.close();
    await checkpointer.stop();
    db.close();
    throw err;
  }
}
