import type { HistoryQuery, StatusReplica } from '@catalyst-signal/shared';
import type { OutcomeClusterLink } from './outcome-holder.js';
import { StoreUnavailableError, forbidden } from '../errors.js';
import { clusterSigningJwk, type ClusterLog } from '../jetstream/cluster-log.js';
import type { NatsHandle } from '../jetstream/connection.js';
import { Follower, type FollowerOptions, type LogEntry } from '../jetstream/follower.js';
import { ClusterKeys, toKeyRow, type KeyChange } from '../jetstream/keys-kv.js';
import { messageAt, streamView } from '../jetstream/log-state.js';
import type {
  FanOut,
  FilterableRow,
  HistoryPage,
  KeyAdmin,
  SignalLogDriver,
  SignalLogReader,
} from '../log/types.js';
import { watchPublished } from '../jetstream/checkpoint-kv.js';
import { ClusterCosignatures } from '../jetstream/cosignature-kv.js';
import { COSIGNED_SIZES, CheckpointMirror, type MirroredTree } from '../log/mirror.js';
import { SharedCosignatures } from '../log/shared-cosignatures.js';
import { WitnessBook } from '../log/witnesses.js';
import { ed25519VerifierKey } from '@catalyst-signal/shared';
import { sha256 } from '../log/tlog-crypto.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/db.js';
import { KeyTableMirror } from '../store/key-mirror.js';
import { Divergence, Replica, type Diverged, type DivergenceReason } from '../store/replica.js';

export interface GatewayLogOptions {
  db: Db;
  nats: NatsHandle;
  cluster: ClusterLog;
  log: Logger;
  /** Log bootstrap / catch-up progress every this many applied signals (default 10,000). */
  progressEvery?: number;
  /** How often the stream's last seq is asked for (replica lag while no message flows), ms (default 5000). */
  lagPollMs?: number;
  /** config.log.origin: the checkpoints' origin line; default catalyst-signals/<cluster epoch>. */
  origin?: string | undefined;
  /** config.log.witnesses: whose cosignatures are kept (cluster-wide) and served. */
  witnesses?: readonly { name: string; vkey: string }[];
  follower?: Partial<
    Pick<FollowerOptions, 'idleMs' | 'apiTimeoutMs' | 'expiresMs' | 'maxBatch' | 'backoffMs'>
  >;
}

const NO_KEY_ADMIN =
  'a gateway does not manage API keys (its key table only mirrors the cluster, and its NATS user may only read): ' +
  'create or revoke keys on an ingest node (POST/DELETE /v1/admin/keys there) or with `catalyst-server keys create -c <config>`';

/**
 * Key admin on a gateway is refused with 403 and where to go instead: changing only the local mirror would be
 * undone by the next cluster sync and would not reach the other nodes.
 */
const refusingKeyAdmin: KeyAdmin = {
  create: () => Promise.reject(forbidden(NO_KEY_ADMIN)),
  revoke: () => Promise.reject(forbidden(NO_KEY_ADMIN)),
};

/** What /healthz and /metrics say about the replica. */
export interface ReplicaHealth {
  role: 'gateway';
  applied_seq: number;
  cluster_last_seq: number;
  replica_lag: number;
  caught_up: boolean;
  diverged?: { reason: string; detail: string; local_epoch: string; cluster_epoch: string; seq?: number };
}

/**
 * The replica as a SignalLogReader: the single-node readers (SignalStore) over the gateway's SQLite copy. A
 * diverged replica answers history and by-seq reads with StoreUnavailableError, which the HTTP layer turns
 * into 503 problem+json whose detail names both epochs or the seq.
 */
class ReplicaReader implements SignalLogReader {
  constructor(private readonly r: Replica) {}
  get epoch(): string {
    return this.r.epoch;
  }
  get head(): number {
    return this.r.applied;
  }
  firstSeq(): number {
    return this.r.store.firstSeq();
  }
  rowsAfter(afterSeq: number, limit: number): FilterableRow[] {
    return this.r.store.rowsAfter(afterSeq, limit);
  }
  history(q: HistoryQuery): HistoryPage {
    this.refuseIfDiverged();
    return this.r.store.history(q);
  }
  getJson(seq: number): string | undefined {
    this.refuseIfDiverged();
    return this.r.store.getJson(seq);
  }
  private refuseIfDiverged(): void {
    const d = this.r.diverged;
    if (d) throw new StoreUnavailableError(divergedMessage(d));
  }
}

/** The replica's tree as the mirror proves from it: unavailable once the replica diverged. */
function servedTree(r: Replica): MirroredTree {
  const t = r.store.tree;
  return {
    get size() {
      return t.size;
    },
    get unavailable() {
      return r.diverged ? divergedMessage(r.diverged) : t.unavailable;
    },
    read: t.read,
    root: (n) => t.root(n),
    inclusion: (i, n) => t.inclusion(i, n),
    consistency: (a, b) => t.consistency(a, b),
  };
}

export const divergedMessage = (d: Diverged): string =>
  `replica diverged (${d.reason}): ${d.detail}. This gateway serves nothing until the replica is moved aside: ` +
  `stop it, run \`catalyst-server db replica-reset\` on its data dir, start it; it re-bootstraps from the ` +
  `cluster stream (docs/operations.md)`;

/**
 * A gateway's signal log: a local SQLite replica fed by the cluster stream (Follower), keys mirrored from the
 * cluster's KV into the local key table. Reader only; it has no sequencer.
 *
 * Replay -> live (docs/architecture.md): every batch from the stream is applied to the replica (one
 * transaction) and handed to the fan-out in the same synchronous call, in seq order; `reader.head` moves only
 * there. A replaying socket reads the replica up to its head and subscribes in one synchronous step, so every
 * seq reaches it either through the replica or through a later publish, never both and never neither.
 */
export class GatewayLog implements SignalLogDriver {
  readonly kind = 'jetstream-gateway';
  readonly reader: SignalLogReader;
  readonly sequencer = undefined;
  readonly keyAdmin: KeyAdmin = refusingKeyAdmin;
  /** A client that failed over from a gateway a little ahead waits this long for this replica (ws/stream.ts). */
  readonly aheadWaitMs = 5000;
  readonly replica: Replica;
  /** The checkpoints the cluster's lease holder published, served once this replica proves them. */
  readonly transparency: CheckpointMirror;
  private checkpointWatch: { stop(): void } | undefined;
  /** Witness cosignatures, shared by every node through the cluster (absent: no witnesses configured). */
  readonly witnesses: WitnessBook | undefined;
  private readonly cosignatures: SharedCosignatures;
  private cosignWatch: { stop(): void } | undefined;
  private cosignTimer: NodeJS.Timeout | undefined;
  /** Called after each applied batch (the checkpoint signer of a `both` node). */
  readonly applied: (() => void)[] = [];
  private fanOut: FanOut | undefined;
  private follower: Follower | undefined;
  private keysWatch: { stop(): void } | undefined;
  private keysReady = false;
  private caughtUp = false;
  /** The stream's last seq when this gateway started: serving starts once the replica reached it. */
  private startLast = 0;
  private clusterLast = 0;
  private lastProgress = 0;
  private lagTimer: NodeJS.Timeout | undefined;
  private jwkTimer: NodeJS.Timeout | undefined;
  /** The cluster's signing public key, as the first ingest node recorded it in the meta bucket. */
  private signingJwk: object | undefined;
  private closed = false;
  /** Called once when the replica turns diverged at run time (the gateway closes its sockets). */
  onDiverged: ((d: Diverged) => void) | undefined;

  /** Outcomes: mirrored from the cluster's lease holder, never computed here (read-only NATS user). */
  get outcomeCluster(): OutcomeClusterLink {
    return { nats: this.o.nats, meta: this.o.cluster.meta, mayCompute: false };
  }

  /** The stream's last seq, asked of its leader now (a subscribe beyond it is `future`, ws/stream.ts). */
  async logHead(): Promise<number> {
    const v = await streamView(this.o.nats, this.o.cluster.stream);
    this.clusterLast = Math.max(this.clusterLast, v.lastSeq);
    return v.lastSeq;
  }

  private constructor(private readonly o: GatewayLogOptions) {
    this.replica = Replica.open(o.db, o.cluster.epoch);
    this.reader = new ReplicaReader(this.replica);
    this.transparency = new CheckpointMirror({
      tree: servedTree(this.replica),
      origin: o.origin ?? `catalyst-signals/${o.cluster.epoch}`,
      onMismatch: (detail, size) => this.diverge(detail, size, Divergence.differs),
      onError: (detail) => o.log.warn(`transparency log: ${detail}`),
    });
    this.cosignatures = new SharedCosignatures(this.transparency);
    // Built before anything connects: a bad witness key stops the start with the key named.
    this.witnesses = o.witnesses?.length
      ? new WitnessBook({ witnesses: o.witnesses, rows: this.cosignatures })
      : undefined;
    const book = this.witnesses;
    if (book) {
      this.transparency.cosignatures = book;
      this.cosignatures.valid = (size, line) => book.valid(size, line);
    }
  }

  /** Open the replica and check it against the stream (epoch, head within the stream, head row identical). */
  static async open(o: GatewayLogOptions): Promise<GatewayLog> {
    const g = new GatewayLog(o);
    await g.verify();
    // Also when diverged: authenticated clients then get the 503 that says why, not a 401.
    await g.startKeyMirror();
    await g.loadSigningJwk();
    g.checkpointWatch = await watchPublished(o.cluster.meta, (note) => g.transparency.offer(note));
    await g.startCosignatures();
    return g;
  }

  /**
   * Every node puts the cosignatures it verified into the cluster's bucket and serves every one in it
   * (docs/transparency-log.md "Witnesses"). A node that cannot open the bucket yet still serves checkpoints,
   * without cosignatures, says why and tries again.
   */
  private async startCosignatures(): Promise<void> {
    const book = this.witnesses;
    if (!book || this.closed) return;
    try {
      const replicas = this.o.cluster.info.config.num_replicas === 1 ? 1 : 3;
      const bucket = await ClusterCosignatures.open(this.o.nats, replicas, COSIGNED_SIZES);
      if (this.closed) return;
      this.cosignatures.bucket = bucket;
      this.cosignWatch = await bucket.watch((size, witness, line) => {
        if (!this.closed && this.cosignatures.seen(size, witness, line)) book.announce(size);
      });
    } catch (err) {
      // Most likely a gateway started before any `both` node created the bucket: try again later.
      this.o.log.warn(
        { err: (err as Error).message },
        'transparency log: the cluster cosignature bucket cannot be opened yet; witness cosignatures are not kept or served here until it can',
      );
      this.cosignTimer = setTimeout(() => void this.startCosignatures(), 5000);
      this.cosignTimer.unref();
    }
  }

  /**
   * Clients verify signatures with /v1/signing-keys; a gateway holds no signing key, so it serves the one
   * every ingest node signs with, recorded in the meta bucket by the first ingest node (key `signing_jwk`,
   * jetstream/cluster-log.ts). Before any ingest node started it is unknown: looked up again every 5 s.
   */
  private async loadSigningJwk(): Promise<void> {
    const read = async () => {
      if (this.signingJwk) return;
      this.signingJwk = await clusterSigningJwk(this.o.cluster.meta);
      const x = (this.signingJwk as { x?: unknown } | undefined)?.x;
      if (typeof x === 'string')
        this.transparency.setVerifierKey(
          ed25519VerifierKey(sha256, this.transparency.origin, new Uint8Array(Buffer.from(x, 'base64url'))),
        );
    };
    await read().catch(() => undefined);
    if (this.signingJwk) return;
    this.jwkTimer = setInterval(() => {
      if (this.signingJwk) return clearInterval(this.jwkTimer);
      void read().catch(() => undefined);
    }, 5000);
    this.jwkTimer.unref();
  }

  jwks(): { keys: object[] } | undefined {
    return this.signingJwk ? { keys: [this.signingJwk] } : undefined;
  }

  private async verify(): Promise<void> {
    const r = this.replica;
    const { stream, epoch } = this.o.cluster;
    if (!r.diverged) {
      const view = await streamView(this.o.nats, stream);
      this.startLast = this.clusterLast = view.lastSeq;
      const headJson = r.applied > 0 ? await messageAt(this.o.nats, stream, r.applied) : undefined;
      r.verify({ epoch, ...view }, headJson);
      if (!r.diverged && r.applied === 0 && view.firstSeq > 1) r.startAt(view.firstSeq);
    }
    const d = r.diverged;
    if (d) {
      this.logDiverged(d);
      return;
    }
    this.caughtUp = r.applied >= this.startLast;
    this.lastProgress = r.applied;
    this.o.log.info(
      { epoch, applied_seq: r.applied, cluster_last_seq: this.startLast, first_seq: r.store.firstSeq() },
      r.applied === 0
        ? 'replica bootstrapping from the cluster stream'
        : 'replica catching up from its last applied seq',
    );
  }

  private logDiverged(d: Diverged): void {
    this.o.log.error(
      { reason: d.reason, local_epoch: d.localEpoch, cluster_epoch: d.clusterEpoch, seq: d.seq },
      divergedMessage(d),
    );
  }

  private async startKeyMirror(): Promise<void> {
    const mirror = new KeyTableMirror(this.o.db);
    const keys = await ClusterKeys.open(this.o.nats, this.o.cluster.info.config.num_replicas === 1 ? 1 : 3);
    const seen = new Set<string>();
    this.keysWatch = await keys.watch(
      (c: KeyChange) => {
        if (this.closed) return;
        seen.add(c.id);
        if ('deleted' in c) mirror.remove(c.id);
        else mirror.upsert(toKeyRow(c.record));
      },
      () => {
        if (this.closed) return;
        const dropped = mirror.retainOnly(seen);
        this.keysReady = true;
        this.o.log.info({ keys: seen.size, dropped_local: dropped }, 'api keys mirrored from the cluster');
      },
    );
  }

  attach(fanOut: FanOut): void {
    if (this.fanOut) throw new Error('a fan-out is already attached to this log');
    this.fanOut = fanOut;
    if (this.replica.diverged) return;
    this.follower = new Follower({
      nc: this.o.nats.nc,
      stream: this.o.cluster.stream,
      nextSeq: () => this.replica.applied + 1,
      apply: (batch) => this.apply(batch),
      onDiverged: (detail, seq) => this.diverge(detail, seq),
      log: this.o.log,
      ...this.o.follower,
    }).start();
    const poll = this.o.lagPollMs ?? 5000;
    this.lagTimer = setInterval(() => {
      streamView(this.o.nats, this.o.cluster.stream).then(
        (v) => (this.clusterLast = Math.max(this.clusterLast, v.lastSeq)),
        () => undefined, // the cluster is away: lag stays as last known, the follower reports the outage
      );
    }, poll);
    this.lagTimer.unref();
  }

  /** Store, then publish, in one synchronous step (see the class comment). Throwing makes the follower retry. */
  private apply(batch: LogEntry[]): void {
    const stored = this.replica.applySequenced(batch.map((e) => e.json));
    try {
      this.fanOut?.publish(stored);
    } catch (err) {
      // Stored is stored: subscribers resume from the replica.
      this.o.log.error(
        { err },
        'fan-out failed after a replica apply; subscribers will resume from the replica',
      );
    }
    const applied = this.replica.applied;
    this.clusterLast = Math.max(this.clusterLast, applied, this.follower?.stats.knownLastSeq ?? 0);
    if (!this.caughtUp && applied >= this.startLast) {
      this.caughtUp = true;
      this.o.log.info({ applied_seq: applied }, 'replica caught up with the cluster stream; serving');
    }
    const every = this.o.progressEvery ?? 10_000;
    if (Math.floor(applied / every) > Math.floor(this.lastProgress / every) && this.clusterLast > applied) {
      this.o.log.info(
        { applied_seq: applied, cluster_last_seq: this.clusterLast, replica_lag: this.clusterLast - applied },
        'replica catching up',
      );
    }
    this.lastProgress = applied;
    // Stored is stored: a checkpoint hook that throws must not make the follower apply the batch again.
    for (const fn of [() => this.transparency.grew(), ...this.applied]) {
      try {
        fn();
      } catch (err) {
        this.o.log.error({ err }, 'transparency log: a checkpoint hook failed after a replica apply');
      }
    }
  }

  private diverge(detail: string, seq: number, reason: DivergenceReason = Divergence.order): void {
    const d = this.replica.markDiverged(reason, detail, seq);
    this.logDiverged(d);
    this.onDiverged?.(d);
  }

  /** Why WebSocket clients are turned away (503) and readyz fails; undefined while the gateway serves. */
  notReady(): string | undefined {
    const d = this.replica.diverged;
    if (d) return divergedMessage(d);
    if (!this.keysReady) return 'api keys not yet loaded from the cluster';
    if (!this.caughtUp)
      return `replica catching up: applied ${this.replica.applied} of ${this.startLast}; try another gateway`;
    return undefined;
  }

  /** WebSocket upgrades are refused for the same reasons readyz fails. */
  refuseClients(): string | undefined {
    return this.notReady();
  }

  health(): { replica: ReplicaHealth } {
    return { replica: this.replicaHealth() };
  }

  statusReplica(): StatusReplica {
    const h = this.replicaHealth();
    return {
      applied_seq: h.applied_seq,
      cluster_last_seq: h.cluster_last_seq,
      replica_lag: h.replica_lag,
      caught_up: h.caught_up,
      diverged: h.diverged ? `${h.diverged.reason}: ${h.diverged.detail}`.slice(0, 400) : null,
    };
  }

  replicaHealth(): ReplicaHealth {
    const d = this.replica.diverged;
    const applied = this.replica.applied;
    const last = Math.max(this.clusterLast, applied);
    return {
      role: 'gateway',
      applied_seq: applied,
      cluster_last_seq: last,
      replica_lag: last - applied,
      caught_up: this.caughtUp,
      ...(d
        ? {
            diverged: {
              reason: d.reason,
              detail: d.detail,
              local_epoch: d.localEpoch,
              cluster_epoch: d.clusterEpoch,
              ...(d.seq !== undefined ? { seq: d.seq } : {}),
            },
          }
        : {}),
    };
  }

  get followerStats() {
    return this.follower?.stats;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.lagTimer);
    clearInterval(this.jwkTimer);
    this.keysWatch?.stop();
    this.checkpointWatch?.stop();
    clearTimeout(this.cosignTimer);
    this.cosignWatch?.stop();
    await this.follower?.stop();
  }
}
