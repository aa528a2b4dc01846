import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import uWS from 'uWebSockets.js';
import { Authenticator } from './auth/authenticator.js';
import { createJwtVerifier } from './auth/jwt.js';
import type { Config } from './config.js';
import { Ingestor } from './ingest.js';
import { registerRoutes } from './http/routes.js';
import { createLimits } from './limits.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createSigner, loadOrCreateSigningKey, type Signer } from './signing.js';
import { startCheckpointer } from './store/checkpointer.js';
import { DB_FILE, dbSizeBytes, openDb, type Db } from './store/db.js';
import { KeyStore } from './store/keys.js';
import { SignalStore } from './store/signals.js';
import { Stream } from './ws/stream.js';

export interface Server {
  port: number;
  /** http://host:port */
  url: string;
  /** ws://host:port */
  wsUrl: string;
  epoch: string;
  transport: string;
  signer: Signer;
  store: SignalStore;
  keys: KeyStore;
  auth: Authenticator;
  metrics: Metrics;
  ingestor: Ingestor;
  stream: Stream;
  /** Stop accepting, close sockets with 1001, finish in-flight commits, close the database. Safe to call twice. */
  close(): Promise<void>;
}

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

function writable(db: Db): boolean {
  try {
    db.prepare(`UPDATE meta SET value = value WHERE key = 'epoch'`).run();
    return true;
  } catch {
    return false;
  }
}

/** Wire everything and listen. Flat on purpose: this is the one place that knows all the parts. */
export async function startServer(
  config: Config,
  log: Logger = createLogger(config.log_level),
): Promise<Server> {
  const db = openDb(config.data_dir, {
    sync: config.sync,
    busyTimeoutMs: config.busy_timeout_ms,
    externalCheckpoints: true,
  });
  const checkpointer = startCheckpointer(path.join(config.data_dir, DB_FILE));
  const store = new SignalStore(db);
  const keys = new KeyStore(db);
  const signer = await createSigner(loadOrCreateSigningKey(config.data_dir).key);
  const jwt = config.jwt ? await createJwtVerifier(config.jwt) : undefined;
  const auth = new Authenticator(keys, jwt);
  const limits = createLimits(config);
  const transport = uwsTransport();
  const serverId = config.server_id ?? os.hostname();

  const app = uWS.App();
  let stream: Stream | undefined = undefined;
  const metrics = createMetrics(
    () => dbSizeBytes(config.data_dir),
    () => stream?.connected ?? 0,
  );
  const ingestor = new Ingestor(
    store,
    (u) => signer.sign(u),
    (fresh) => stream!.publish(fresh),
    metrics,
    config.group_commit_max,
    (err) => log.error({ err }, 'fan-out failed after commit; subscribers will resume from the log'),
  );
  stream = new Stream(app, { config, store, auth, limits, metrics, log, serverId });
  registerRoutes({
    app,
    auth,
    limits,
    metrics,
    log,
    config,
    store,
    keys,
    ingestor,
    signer,
    transport,
    ready: () => writable(db),
  });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen(config.host, config.port, (s) =>
      s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`)),
    ),
  );
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  const touch = setInterval(() => keys.touch(auth.drainUsed()), 10_000);
  touch.unref();

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info(
    {
      port,
      host: config.host,
      transport,
      epoch: store.epoch,
      head_seq: store.head,
      sync: config.sync,
      signing_key: signer.fingerprint,
    },
    'listening',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      uWS.us_listen_socket_close(listenSocket);
      stream!.shutdown();
      await ingestor.drained();
      clearInterval(touch);
      keys.touch(auth.drainUsed());
      await checkpointer.stop();
      db.close();
      log.info('closed');
    })());

  return {
    port,
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    epoch: store.epoch,
    transport,
    signer,
    store,
    keys,
    auth,
    metrics,
    ingestor,
    stream,
    close,
  };
}
