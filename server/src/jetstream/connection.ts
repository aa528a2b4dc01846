import { readFileSync } from 'node:fs';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';

/** TLS towards the NATS servers: file paths, read by the client at connect time. */
export interface NatsTlsOptions {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
}

export interface ConnectNatsOptions {
  /** nats://host:port (or tls://); several for a cluster: the client fails over between them. */
  urls: string[];
  /** Shown on the servers' monitoring pages (/connz), e.g. `catalyst-ingest-<server_id>`. */
  name: string;
  /** Connect handshake timeout and JetStream API request timeout. */
  timeoutMs?: number;
  logger?: Logger;
  tls?: NatsTlsOptions;
  /** A NATS .creds file (user JWT + nkey seed); never logged. */
  credentials_file?: string;
  /** Keep retrying the first connect instead of failing (a node started before its cluster). */
  waitOnFirstConnect?: boolean;
}

export interface NatsHandle {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  kvm: Kvm;
  /** The urls, with any user:password@ removed: safe to log or show. */
  safeUrls: string[];
  /** Drain (finish in-flight requests, then close). Safe to call twice. */
  close(): Promise<void>;
}

/** Removes userinfo from a URL so that nothing a log or error shows carries a password or token. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1[redacted]@');
}

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * One NATS connection with its JetStream and KV handles. Reconnects forever (maxReconnectAttempts -1) with
 * jitter so that a cluster restart is not hit by every node in lockstep; status changes are logged without
 * credentials (URLs are redacted; creds and TLS keys are file paths the client reads itself).
 */
export async function connectNats(o: ConnectNatsOptions): Promise<NatsHandle> {
  const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const safeUrls = o.urls.map(redactUrl);
  const tls =
    o.tls && (o.tls.ca_file || o.tls.cert_file || o.tls.key_file)
      ? {
          ...(o.tls.ca_file ? { caFile: o.tls.ca_file } : {}),
          ...(o.tls.cert_file ? { certFile: o.tls.cert_file } : {}),
          ...(o.tls.key_file ? { keyFile: o.tls.key_file } : {}),
        }
      : undefined;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: o.urls,
      name: o.name,
      timeout,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 250,
      reconnectJitterTLS: 500,
      waitOnFirstConnect: o.waitOnFirstConnect ?? false,
      // Without it the client builds two Errors (stack captured) per request, for every JetStream publish that
      // succeeds too: ~5% of the ingest role's CPU per signal in a profile. Errors keep their classes and
      // messages (isTransient and the 503s read those), only the caller's stack is not appended.
      noAsyncTraces: true,
      ...(tls ? { tls } : {}),
      ...(o.credentials_file
        ? { authenticator: credsAuthenticator(new Uint8Array(readFileSync(o.credentials_file))) }
        : {}),
    });
  } catch (err) {
    // The client's message can echo a URL; say which (redacted) servers were tried instead.
    throw new Error(`cannot connect to NATS at ${safeUrls.join(', ')}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const log = o.logger;
  if (log) void watchStatus(nc, log);
  const js = jetstream(nc, { timeout });
  const jsm = await jetstreamManager(nc, { timeout, checkAPI: false });
  const kvm = new Kvm(js);
  let closing: Promise<void> | undefined;
  return {
    nc,
    js,
    jsm,
    kvm,
    safeUrls,
    close() {
      closing ??= nc.isClosed()
        ? Promise.resolve()
        : nc.drain().catch(async () => {
            if (!nc.isClosed()) await nc.close();
          });
      return closing;
    },
  };
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        log.warn({ nats: redactUrl(s.server) }, 'nats disconnected');
        break;
      case 'reconnect':
        log.info({ nats: redactUrl(s.server) }, 'nats reconnected');
        break;
      case 'error':
        log.warn({ err: s.error.message }, 'nats error');
        break;
      case 'ldm':
        log.info({ nats: redactUrl(s.server) }, 'nats server entering lame duck mode');
        break;
      default:
        break;
    }
  }
}
