import { ed25519Signer, ed25519VerifierKey, openCheckpoint, ed25519Verifier } from '@catalyst-signal/shared';
import type { KV } from '@nats-io/kv';
import { FencedPublisher, readPublished, type Published } from '../jetstream/checkpoint-kv.js';
import { CLUSTER_NAMES } from '../jetstream/cluster-log.js';
import { KvLease } from '../jetstream/lease.js';
import { CheckpointLog, type CheckpointedTree } from '../log/checkpoints.js';
import type { MirroredTree } from '../log/mirror.js';
import { ed25519Verify, sha256 } from '../log/tlog-crypto.js';
import type { Logger } from '../logger.js';

export interface CheckpointHolderOptions {
  meta: KV;
  /** This node's replica tree (a `both` node: the signer needs the key and the tree). */
  tree: MirroredTree;
  /** Why the replica must not be signed over (diverged), or undefined. */
  replicaProblem(): string | undefined;
  origin: string;
  key: { publicKeyRaw: Uint8Array; signBytes(message: Uint8Array): Uint8Array };
  intervalMs: number;
  node: string;
  termMs: number;
  skewMs: number;
  log: Logger;
}

/**
 * Cluster mode's one checkpoint signer (docs/transparency-log.md "Cluster mode"): contends for the
 * `checkpoint_lease`; while holding it, seeds CheckpointLog with the checkpoint last published (once this
 * replica reached its size and has its root: never a checkpoint inconsistent with a predecessor's), signs as
 * the replica grows, and publishes each note fenced on the revision it read. It serves nothing itself: every
 * node, this one included, serves what its mirror accepted from the meta bucket.
 */
export class CheckpointHolder {
  readonly lease: KvLease;
  private readonly vkey: string;
  /** The checkpoint to start from, once read, until this replica has reached it. */
  private seed: Published | undefined;
  private seeding: Promise<void> | undefined;
  private signer: { cp: CheckpointLog; publisher: FencedPublisher } | undefined;
  private closed = false;

  constructor(private readonly o: CheckpointHolderOptions) {
    this.vkey = ed25519VerifierKey(sha256, o.origin, o.key.publicKeyRaw);
    this.lease = new KvLease({
      kv: o.meta,
      key: CLUSTER_NAMES.checkpointLeaseKey,
      node: o.node,
      termMs: o.termMs,
      skewMs: o.skewMs,
      log: o.log,
    });
    this.lease.on('acquired', () => this.startSeeding());
    this.lease.on('lost', () => this.dropSigner());
  }

  start(): this {
    this.lease.start();
    return this;
  }

  /** Whether this node signs now (tests, /healthz). */
  get signing(): boolean {
    return this.signer !== undefined && this.lease.isHeld();
  }

  /** The replica applied signals. */
  grew(): void {
    if (this.signer) this.signer.cp.grew();
    else if (this.seed) this.trySeed();
  }

  private startSeeding(): void {
    if (this.closed || this.seeding) return;
    this.seeding = readPublished(this.o.meta)
      .then((p) => {
        if (!this.lease.isHeld()) return;
        this.seed = p ?? { note: '', revision: 0 };
        this.trySeed();
      })
      .catch((err: unknown) => {
        this.o.log.warn(
          { err: (err as Error).message },
          'checkpoints: cannot read the published one; retrying',
        );
        setTimeout(() => this.startSeeding(), Math.max(100, this.o.termMs / 3)).unref();
      })
      .finally(() => (this.seeding = undefined));
  }

  /** Start signing once this replica holds the published checkpoint's tree, with its root. */
  private trySeed(): void {
    const s = this.seed;
    if (!s || this.signer || this.closed || !this.lease.isHeld()) return;
    const why = this.o.replicaProblem() ?? this.o.tree.unavailable;
    if (why) return;
    let latest: { size: number; note: string } | undefined;
    if (s.note) {
      let checkpoint;
      try {
        const verifier = ed25519Verifier(sha256, this.vkey, ed25519Verify);
        checkpoint = openCheckpoint(s.note, this.o.origin, [verifier]).checkpoint;
      } catch (err) {
        // Another key or origin signed it (a key rotation, a misconfigured log.origin): signing on from it
        // would be a second history. A person decides (docs/transparency-log.md).
        this.refuse(
          `the published checkpoint does not verify with this node's key and origin: ${(err as Error).message}`,
        );
        return;
      }
      if (this.o.tree.size < checkpoint.size) return; // wait for the replica
      const mine = this.o.tree.root(checkpoint.size);
      if (!Buffer.from(mine).equals(Buffer.from(checkpoint.rootHash))) {
        this.refuse(`this replica's tree of size ${checkpoint.size} is not the one the cluster signed`);
        return;
      }
      latest = { size: checkpoint.size, note: s.note };
    }
    this.seed = undefined;
    const publisher = new FencedPublisher(this.o.meta, s.revision ? s : undefined);
    const tree = this.o.tree;
    // The published checkpoint is CheckpointLog's "latest": it signs only larger, proven-consistent sizes.
    const seeded: CheckpointedTree = {
      get size() {
        return tree.size;
      },
      get unavailable() {
        return tree.unavailable;
      },
      read: tree.read,
      root: (n) => tree.root(n),
      inclusion: (i, n) => tree.inclusion(i, n),
      consistency: (a, b) => tree.consistency(a, b),
      latestCheckpoint: () => latest,
      saveCheckpoint: () => undefined,
    };
    const publish = (note: string) => {
      if (!this.lease.isHeld()) return this.dropSigner();
      publisher.publish(note).catch((err: unknown) => {
        this.o.log.warn(
          { err: (err as Error).message },
          'checkpoints: publish refused or failed; reading the published one again',
        );
        this.dropSigner();
        if (this.lease.isHeld()) this.startSeeding();
      });
    };
    // CheckpointLog signs at once when the tree grew past the seed, before a listener can be attached.
    const cp = new CheckpointLog({
      tree: seeded,
      origin: this.o.origin,
      signer: ed25519Signer(sha256, this.o.origin, this.o.key.publicKeyRaw, (m) => this.o.key.signBytes(m)),
      vkey: this.vkey,
      intervalMs: this.o.intervalMs,
      log: this.o.log,
    });
    this.signer = { cp, publisher };
    const first = cp.latestSigned();
    if (first && first.size !== latest?.size) publish(first.note);
    cp.onSigned((c) => publish(c.note));
    this.o.log.info({ from_size: latest?.size ?? 0 }, 'checkpoints: this node signs them now (lease holder)');
  }

  /** Never sign on this node again (until restarted), and let another node hold the lease. */
  private refuse(why: string): void {
    this.o.log.fatal(`checkpoints: ${why}; this node will not sign`);
    this.seed = undefined;
    this.closed = true;
    void this.lease.stop();
  }

  private dropSigner(): void {
    this.signer?.cp.close();
    this.signer = undefined;
    this.seed = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropSigner();
    await this.lease.stop();
  }
}
