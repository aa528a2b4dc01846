import type { ClusterConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { signalSigner } from '../log/leaf.js';
import type { Signer } from '../signing.js';
import { ensureClusterLog, ensureSigningKey, type ClusterLog } from './cluster-log.js';
import { connectNats, type NatsHandle } from './connection.js';
import { ClusterKeys, type KeyChange } from './keys-kv.js';
import { ClusterSequencer } from './sequencer.js';
import { startStreamSampler, type StreamSampler } from './stream-state.js';

/** Everything an ingest-role node needs from the cluster, connected and ready. */
export interface IngestBackend {
  handle: NatsHandle;
  log: ClusterLog;
  sequencer: ClusterSequencer;
  /** The cluster's keys bucket (the admin API writes here). */
  keys: ClusterKeys;
  sampler: StreamSampler;
  /** Stop taking signals, answer what is in flight, close the connection. */
  close(): Promise<void>;
}

/** How long the first keys snapshot may take before the node refuses to start (it could not authenticate). */
const KEYS_READY_MS = 15_000;

/**
 * Connects to NATS, creates or checks the stream and buckets, checks that this node signs with the cluster's
 * key, mirrors the keys bucket, and builds the sequencer. The node starts serving only after all of this, so
 * it never answers 401 for a valid key merely because its mirror was still empty.
 */
export async function startIngestBackend(
  c: ClusterConfig,
  signer: Signer,
  logger: Logger,
  name: string,
  o: {
    maxInFlight?: number;
    /** config `log.signal_signatures`: false seals signals without `sig` (the log proves them). */
    signalSignatures?: boolean;
    /** Every key change from the cluster's keys bucket (the node's key table follows it). */
    onKey: (c: KeyChange) => void;
    /** Once, when the bucket's state at start has been delivered: the ids it held. */
    onKeysReady: (ids: ReadonlySet<string>) => void;
    /** Seconds from publish to settled answer, per signal (metrics). */
    onPublish?: (seconds: number) => void;
  },
): Promise<IngestBackend> {
  const handle = await connectNats({
    urls: c.nats_urls,
    name,
    timeoutMs: c.request_timeout_ms,
    logger,
    ...(c.tls ? { tls: c.tls } : {}),
    ...(c.credentials_file ? { credentials_file: c.credentials_file } : {}),
  });
  try {
    const log = await ensureClusterLog(handle, {
      replicas: c.replicas,
      duplicateWindowMs: c.duplicate_window_ms,
      maxAgeMs: c.max_age_days * 86_400_000,
      ...(c.stream ? { stream: c.stream } : {}),
    });
    await ensureSigningKey(log.meta, signer.publicJwk as Record<string, unknown>);
    const clusterKeys = await ClusterKeys.open(handle, c.replicas);
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const seen = new Set<string>();
    const watch = await clusterKeys.watch(
      (change) => {
        seen.add(change.id);
        o.onKey(change);
      },
      () => {
        o.onKeysReady(seen);
        ready();
      },
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      isReady,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`keys bucket not read within ${KEYS_READY_MS} ms`)),
          KEYS_READY_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    const sequencer = new ClusterSequencer({
      handle,
      stream: log.stream,
      epoch: log.epoch,
      sign: signalSigner(signer, o.signalSignatures ?? true),
      publishTimeoutMs: c.request_timeout_ms,
      logger,
      ...(o.maxInFlight ? { maxInFlight: o.maxInFlight } : {}),
      ...(o.onPublish ? { onPublish: o.onPublish } : {}),
    });
    await sequencer.syncHead();
    const sampler = startStreamSampler(handle, log.stream);
    logger.info(
      {
        nats: handle.safeUrls,
        stream: log.stream,
        epoch: log.epoch,
        replicas: c.replicas,
        keys: seen.size,
      },
      'cluster log ready',
    );
    let closing: Promise<void> | undefined;
    return {
      handle,
      log,
      sequencer,
      keys: clusterKeys,
      sampler,
      close: () =>
        (closing ??= (async () => {
          await sequencer.close();
          sampler.stop();
          watch.stop();
          await handle.close();
        })()),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
