import { randomBytes } from 'node:crypto';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { errors, nanos } from '@nats-io/transport-node';
import type { NatsHandle } from './connection.js';
import { sha256Digest } from '../sha256.js';

/**
 * The one place for the cluster log's names and setup. Everything that reads or writes the cluster log
 * (sequencer, followers, gateways, CLI commands) takes its names from here.
 */
export const CLUSTER_NAMES = {
  stream: 'CATALYST_SIGNALS',
  subjectPrefix: 'catalyst.signals.',
  subjects: 'catalyst.signals.*',
  metaBucket: 'catalyst_meta',
  keysBucket: 'catalyst_keys',
  /** Witness cosignatures of published checkpoints (jetstream/cosignature-kv.ts). */
  cosignaturesBucket: 'catalyst_cosignatures',
  epochKey: 'epoch',
  /** The public JWK every ingest node signs with (gateways serve it as the cluster's JWKS). */
  signingJwkKey: 'signing_jwk',
  /** The latest checkpoint the lease holder signed (a signed note), written fenced on its revision. */
  checkpointKey: 'checkpoint',
  /** Who may sign checkpoints now (jetstream/lease.ts). */
  checkpointLeaseKey: 'checkpoint_lease',
} as const;

export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/**
 * One subject per source_id: `catalyst.signals.<first 32 hex chars of sha256(source_id)>`. Hashing keeps any
 * source_id (dots, wildcards, unicode) a valid single token, and one subject per source_id is what lets the
 * sequencer refuse a second seq for a source_id long after the duplicate window (expect last subject seq 0).
 * 128 bits: a collision between two different source_ids is not a practical concern.
 */
export function subjectFor(sourceId: string, prefix: string = CLUSTER_NAMES.subjectPrefix): string {
  return prefix + sha256Digest(sourceId).toString('hex').slice(0, 32);
}

export interface ClusterLogOptions {
  /** 3 (recommended: survives one node loss) or 1 (a node loss blocks ingest until it returns). */
  replicas: 1 | 3;
  /** Window of msgID dedupe inside JetStream; beyond it the per-subject check still refuses a second seq. */
  duplicateWindowMs?: number;
  /** Drop signals older than this (limits retention, by age); 0 or absent = keep forever. */
  maxAgeMs?: number;
  /** Largest stored signal accepted by the stream (bytes); absent = the server's max_payload. */
  maxMsgBytes?: number;
  /** Override only when two Catalyst networks share one NATS account. */
  stream?: string;
}

export interface ClusterLog {
  stream: string;
  /** The cluster log's epoch: one random id per stream, shared by every node. */
  epoch: string;
  info: StreamInfo;
  meta: KV;
}

/** The stream config Catalyst wants; compared with what exists so a mismatch is reported, not ignored. */
export function streamConfig(o: ClusterLogOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: o.stream ?? CLUSTER_NAMES.stream,
    subjects: [CLUSTER_NAMES.subjects],
    storage: StorageType.File,
    num_replicas: o.replicas,
    retention: RetentionPolicy.Limits,
    // Nothing is ever dropped to make room: no msgs/bytes limits, and if one were set, refuse new rather
    // than drop old (an acked signal must stay until its age says otherwise).
    discard: DiscardPolicy.New,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: -1,
    max_age: nanos(o.maxAgeMs ?? 0),
    ...(o.maxMsgBytes ? { max_msg_size: o.maxMsgBytes } : {}),
    duplicate_window: nanos(o.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
    allow_direct: true,
    // Stream seq = signal seq only while no message is ever deleted from the middle: forbid it.
    deny_delete: true,
    deny_purge: true,
    allow_rollup_hdrs: false,
  };
}

const isApiError = (err: unknown, code: number): boolean =>
  err instanceof JetStreamApiError && err.code === code;

/**
 * Creates the stream and the meta bucket if missing, or checks and updates the existing ones, then reads the
 * epoch: `kv.create` succeeds only for the first node to get there; every other node reads the winner's.
 * Safe to run on every node at every start, concurrently.
 */
export async function ensureClusterLog(h: NatsHandle, o: ClusterLogOptions): Promise<ClusterLog> {
  const want = streamConfig(o);
  let info = await streamInfoOrNull(h, want.name);
  if (!info) {
    try {
      info = await retryOnTimeout(() => h.jsm.streams.add(want));
    } catch (err) {
      // Another node created it between our info and add (with the same or different config): use theirs.
      info = await streamInfoOrNull(h, want.name);
      if (!info) throw err;
    }
  }
  const c = info.config;
  if (c.subjects.length !== 1 || c.subjects[0] !== CLUSTER_NAMES.subjects) {
    throw new Error(
      `stream ${want.name} exists with subjects ${c.subjects.join(',')}, not ${CLUSTER_NAMES.subjects}`,
    );
  }
  if (c.storage !== StorageType.File)
    throw new Error(`stream ${want.name} exists with ${c.storage} storage, not file`);
  if (
    c.num_replicas !== want.num_replicas ||
    c.duplicate_window !== want.duplicate_window ||
    c.max_age !== want.max_age ||
    !c.allow_direct ||
    !c.deny_delete ||
    !c.deny_purge
  ) {
    // Settings an operator may change in config (replicas, window, retention): applied in place. JetStream
    // keeps every message and seq through an update.
    info = await h.jsm.streams.update(want.name, {
      num_replicas: want.num_replicas,
      duplicate_window: want.duplicate_window,
      max_age: want.max_age,
      allow_direct: true,
      deny_delete: true,
      deny_purge: true,
    });
  }
  // Concurrent creates of the same R3 asset can leave one request unanswered on 2.9 (measured: one of three
  // nodes starting at once timed out); create is idempotent, so ask again.
  const meta = await retryOnTimeout(() =>
    h.kvm.create(CLUSTER_NAMES.metaBucket, { replicas: o.replicas, history: 1, storage: StorageType.File }),
  );
  const epoch = await ensureEpoch(meta);
  return { stream: want.name, epoch, info, meta };
}

/**
 * For nodes that must not create or change anything (gateways, with read-only NATS permissions): the
 * existing stream and epoch, or null while no ingest node has created them yet.
 */
export async function openClusterLog(
  h: NatsHandle,
  stream: string = CLUSTER_NAMES.stream,
): Promise<ClusterLog | null> {
  const info = await streamInfoOrNull(h, stream);
  if (!info) return null;
  const meta = await h.kvm.open(CLUSTER_NAMES.metaBucket);
  const e = await meta.get(CLUSTER_NAMES.epochKey);
  if (!e || e.operation !== 'PUT' || !e.value.length) return null;
  return { stream, epoch: e.string(), info, meta };
}

async function ensureEpoch(meta: KV): Promise<string> {
  try {
    const candidate = randomBytes(8).toString('hex');
    await meta.create(CLUSTER_NAMES.epochKey, candidate);
    return candidate;
  } catch (err) {
    // Lost the race or created earlier: the stored epoch is the cluster's (never overwritten).
    const e = await meta.get(CLUSTER_NAMES.epochKey);
    if (e && e.operation === 'PUT' && e.value.length) return e.string();
    throw err;
  }
}

/**
 * Every ingest node must sign with the same key (clients pin one): the first node to start records its
 * public JWK in the meta bucket; a node whose key differs refuses to start, saying which is which.
 */
export async function ensureSigningKey(
  meta: KV,
  jwk: { kid?: string } & Record<string, unknown>,
): Promise<void> {
  const mine = JSON.stringify(jwk);
  try {
    await meta.create(CLUSTER_NAMES.signingJwkKey, mine);
    return;
  } catch (err) {
    const e = await meta.get(CLUSTER_NAMES.signingJwkKey);
    if (!e || e.operation !== 'PUT') throw err;
    const theirs = e.json<{ kid?: string }>();
    if (theirs.kid !== jwk.kid) {
      throw new Error(
        `this node's signing key (${jwk.kid}) is not the cluster's (${theirs.kid}): copy the cluster's signing-key.pem into this node's data directory`,
      );
    }
  }
}

/** The cluster's signing public JWK (for gateways' /v1/jwks), or undefined before any ingest node started. */
export async function clusterSigningJwk(meta: KV): Promise<Record<string, unknown> | undefined> {
  const e = await meta.get(CLUSTER_NAMES.signingJwkKey);
  return e && e.operation === 'PUT' && e.value.length ? e.json<Record<string, unknown>>() : undefined;
}

/** Stream info, or null when the stream does not exist (any other failure throws). */
export async function streamInfoOrNull(h: NatsHandle, stream: string): Promise<StreamInfo | null> {
  try {
    return await h.jsm.streams.info(stream);
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return null;
    throw err;
  }
}

/** Runs an idempotent admin request again after a timeout or no-responders (at most `tries` times in all). */
export async function retryOnTimeout<T>(f: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (err) {
      if (i >= tries || !isTransient(err)) throw err;
    }
  }
}

/** The cluster did not answer (yet): a timeout, no responders, or v3's "jetstream not enabled" for the latter. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof errors.TimeoutError ||
    err instanceof errors.NoRespondersError ||
    err instanceof errors.RequestError ||
    // Not exported by @nats-io/jetstream 3.3.1's entry point: matched by name.
    err.name === 'JetStreamNotEnabled' ||
    err.name === 'TimeoutError'
  );
}
