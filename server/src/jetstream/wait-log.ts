import type { Logger } from '../logger.js';
import { CLUSTER_NAMES, isTransient, openClusterLog, type ClusterLog } from './cluster-log.js';
import type { NatsHandle } from './connection.js';
import { ClusterKeys } from './keys-kv.js';

/** How often a gateway started before any ingest node looks again, and how often it says it is waiting. */
const POLL_MS = 1000;
const SAY_EVERY_MS = 10_000;

/**
 * For a gateway (read-only): the cluster log once an ingest node has created the stream, the epoch and the
 * keys bucket. Until then it looks again every second and logs a line every 10 s saying what it waits for,
 * so an operator who started gateways first sees why nothing listens yet. Never creates anything.
 */
export async function waitForClusterLog(
  h: NatsHandle,
  log: Logger,
  stream: string = CLUSTER_NAMES.stream,
): Promise<ClusterLog> {
  let lastSaid = 0;
  for (;;) {
    let missing: string;
    try {
      const cluster = await openClusterLog(h, stream);
      if (cluster && (await ClusterKeys.openExisting(h))) return cluster;
      missing = cluster ? `keys bucket ${CLUSTER_NAMES.keysBucket}` : `stream ${stream} and its epoch`;
    } catch (err) {
      // A bucket or stream not created yet answers "not found": keep waiting, as for a timeout.
      if (!isTransient(err) && !/not found/i.test((err as Error).message)) throw err;
      missing = `an answer from the cluster (${(err as Error).message})`;
    }
    const now = Date.now();
    if (now - lastSaid >= SAY_EVERY_MS) {
      lastSaid = now;
      log.warn(
        { stream, nats: h.safeUrls },
        `waiting for ${missing}: start an ingest node (serve --role ingest) to create the cluster log`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
