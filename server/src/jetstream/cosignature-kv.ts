import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { CLUSTER_NAMES } from './cluster-log.js';
import type { NatsHandle } from './connection.js';
import { sha256Digest } from '../sha256.js';

/** config.log.witnesses has at most this many keys: the bucket's bound is per size, times this. */
const MAX_WITNESSES = 64;

/** A KV key names its witness by a hash of the verifier key (a vkey has characters a key may not). */
const witnessToken = (vkey: string) => sha256Digest(vkey).toString('hex').slice(0, 32);

/**
 * Witness cosignatures cluster-wide, in KV bucket `catalyst_cosignatures`: key `<size>.<witness>`, value the
 * cosignature line, written create-only so a second line for one (size, witness) is a no-op. Bounded by the
 * bucket's stream: at most keepSizes x 64 messages, the oldest dropped first (discard old), so the newest
 * `keepSizes` sizes of every configured witness stay; no delete markers pile up.
 */
export class ClusterCosignatures {
  private constructor(private readonly kv: KV) {}

  /**
   * Open the bucket; when it does not exist yet, create it with its bound. A node whose NATS user may not
   * create streams (a gateway, deploy/nats/nats-node.conf) fails here until a `both` node created it.
   */
  static async open(h: NatsHandle, replicas: 1 | 3, keepSizes: number): Promise<ClusterCosignatures> {
    const stream = `KV_${CLUSTER_NAMES.cosignaturesBucket}`;
    const exists = await h.jsm.streams.info(stream).then(
      () => true,
      (err: unknown) => {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return false;
        throw err;
      },
    );
    if (exists) return new ClusterCosignatures(await h.kvm.open(CLUSTER_NAMES.cosignaturesBucket));
    const kv = await h.kvm.create(CLUSTER_NAMES.cosignaturesBucket, {
      replicas,
      history: 1,
      storage: StorageType.File,
    });
    const info = await h.jsm.streams.info(stream);
    await h.jsm.streams.update(stream, {
      ...info.config,
      max_msgs: keepSizes * MAX_WITNESSES,
      discard: DiscardPolicy.Old,
    });
    return new ClusterCosignatures(kv);
  }

  async create(size: number, witness: string, line: string): Promise<boolean> {
    try {
      await this.kv.create(`${size}.${witnessToken(witness)}`, line);
      return true;
    } catch (err) {
      if (
        err instanceof JetStreamApiError &&
        (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
          err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
      )
        return false;
      throw err;
    }
  }

  /** Calls `onLine` for every line stored now and every later one, until stopped. */
  async watch(onLine: (size: number, witness: string, line: string) => void): Promise<{ stop(): void }> {
    const w = await this.kv.watch();
    void (async () => {
      for await (const e of w) {
        if (e.operation !== 'PUT') continue;
        const [size, witness] = e.key.split('.');
        if (witness) onLine(Number(size), witness, e.string());
      }
    })();
    return { stop: () => w.stop() };
  }
}
