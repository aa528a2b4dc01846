/**
 * A cluster node's served checkpoints (docs/transparency-log.md "Cluster mode"): the notes the lease holder
 * published, each accepted only after it verified with the cluster's verifier key and origin, this node's
 * replica reached its size, and this tree's root at that size is the one it signs. Proofs come from this
 * node's own tree. No NATS and no timers here: the jetstream watcher offers notes, the replica says it grew.
 */
import { ed25519Verifier, openCheckpoint, type HashReader, type NoteVerifier } from '@catalyst-signal/shared';
import type { CheckpointSigned, ConsistencyAnswer, ProofAnswer } from './checkpoints.js';
import { consistencyAnswer, proofAnswer, type ServedLog } from './served.js';
import { ed25519Verify, sha256 } from './tlog-crypto.js';

/** The tree a mirror proves from (store/tree.ts). */
export interface MirroredTree {
  readonly size: number;
  readonly unavailable: string | undefined;
  readonly read: HashReader;
  root(size: number): Uint8Array;
  inclusion(index: number, size: number): Uint8Array[];
  consistency(first: number, second: number): Uint8Array[];
}

export interface CheckpointMirrorOptions {
  tree: MirroredTree;
  origin: string;
  /** This tree disagrees with a checkpoint the cluster signed: the replica diverged (the caller stops serving). */
  onMismatch(detail: string, size: number): void;
  onError?(detail: string): void;
}

interface Accepted {
  size: number;
  root: Uint8Array;
  note: string;
}

/**
 * How many of the newest published sizes a witness may cosign on a cluster node, and whose cosignatures are
 * kept (docs/transparency-log.md "Witnesses"): at the default 500 ms interval, the last half minute or more.
 */
export const COSIGNED_SIZES = 64;

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

export class CheckpointMirror implements ServedLog {
  private verifier: NoteVerifier | undefined;
  private vkeyNow = '';
  private latest: Accepted | undefined;
  /** The newest verified note this replica has not reached yet. */
  private pending: Accepted | undefined;
  private halted: string | undefined;
  /** Whether the cluster ever published a checkpoint that reached this node. */
  private offered = false;
  /** The last note offered before the verifier key was known: checked once it is. */
  private unverified: string | undefined;
  private readonly listeners: ((c: CheckpointSigned) => void)[] = [];
  /** The newest COSIGNED_SIZES verified notes by size: what a witness's cosignature is checked against. */
  private readonly recent = new Map<number, string>();
  /** Witness cosignatures appended to the note served (log/witnesses.ts); set once witnesses are wired. */
  cosignatures: { attach(size: number, note: string): string } | undefined;

  constructor(private readonly o: CheckpointMirrorOptions) {}

  get origin(): string {
    return this.o.origin;
  }

  get vkey(): string {
    return this.vkeyNow;
  }

  /** The cluster's verifier key (derived from its signing JWK); notes offered before it are refused. */
  setVerifierKey(vkey: string): void {
    this.verifier = ed25519Verifier(sha256, vkey, ed25519Verify);
    this.vkeyNow = vkey;
    const waiting = this.unverified;
    this.unverified = undefined;
    if (waiting) this.offer(waiting);
  }

  /** A note published by the lease holder: verified now, served once this replica reached its size. */
  offer(note: string): void {
    this.offered = true;
    if (this.halted) return;
    if (!this.verifier) {
      this.unverified = note;
      return;
    }
    let c: Accepted;
    try {
      const { checkpoint } = openCheckpoint(note, this.o.origin, [this.verifier]);
      c = { size: checkpoint.size, root: checkpoint.rootHash, note };
    } catch (err) {
      this.o.onError?.(
        `a published checkpoint does not verify with the cluster key: ${(err as Error).message}`,
      );
      return;
    }
    this.remember(c);
    const l = this.latest;
    if (l && c.size <= l.size) {
      if (c.size === l.size && !sameBytes(c.root, l.root))
        this.halt(`the cluster signed two checkpoints of size ${c.size} with different roots`, c.size);
      return;
    }
    if (!this.pending || c.size >= this.pending.size) this.pending = c;
    this.grew();
  }

  /** The replica applied signals: serve the pending note if the tree reached it. */
  grew(): void {
    const p = this.pending;
    const t = this.o.tree;
    if (!p || this.halted || t.unavailable || t.size < p.size) return;
    this.pending = undefined;
    let root: Uint8Array;
    try {
      root = t.root(p.size);
    } catch (err) {
      this.o.onError?.(`cannot compute this replica's root at ${p.size}: ${(err as Error).message}`);
      return;
    }
    if (!sameBytes(root, p.root)) {
      this.halt(`this replica's tree of size ${p.size} is not the one the cluster signed`, p.size);
      return;
    }
    const previousSize = this.latest?.size ?? 0;
    this.latest = p;
    for (const l of this.listeners) {
      try {
        l({ size: p.size, note: this.withCosignatures(p), previousSize });
      } catch (err) {
        this.o.onError?.(`a checkpoint listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** The note the cluster published at `size`, among the newest COSIGNED_SIZES it published. */
  signedNote(size: number): string | undefined {
    return this.recent.get(size);
  }

  private remember(c: Accepted): void {
    if (this.recent.has(c.size)) return;
    this.recent.set(c.size, c.note);
    if (this.recent.size > COSIGNED_SIZES) this.recent.delete(Math.min(...this.recent.keys()));
  }

  private withCosignatures(c: Accepted): string {
    return this.cosignatures?.attach(c.size, c.note) ?? c.note;
  }

  private halt(why: string, size: number): void {
    this.halted = why;
    this.pending = undefined;
    this.o.onMismatch(why, size);
  }

  absent(): string | undefined {
    return this.offered
      ? undefined
      : 'this cluster publishes no transparency-log checkpoints (only a `both` node signs them; none has yet)';
  }

  unavailable(): string | undefined {
    if (this.halted) return this.halted;
    if (this.o.tree.unavailable) return this.o.tree.unavailable;
    return this.verifier ? undefined : 'the cluster signing key is not known yet';
  }

  checkpoint(): string | undefined {
    return this.latest && this.withCosignatures(this.latest);
  }

  latestSigned(): { size: number; note: string } | undefined {
    return this.latest && { size: this.latest.size, note: this.withCosignatures(this.latest) };
  }

  onSigned(listener: (c: CheckpointSigned) => void): void {
    this.listeners.push(listener);
  }

  inclusion(index: number, size: number): Uint8Array[] {
    return this.o.tree.inclusion(index, size);
  }

  consistency(first: number, second: number): Uint8Array[] {
    return this.o.tree.consistency(first, second);
  }

  hash(level: number, index: number): Uint8Array {
    return this.o.tree.read(level, index);
  }

  proof(seq: number): ProofAnswer {
    return proofAnswer(this.unavailable(), this.latestSigned(), this.o.tree, seq);
  }

  consistencyAnswer(from: number, to: number): ConsistencyAnswer {
    return consistencyAnswer(this.unavailable(), this.latest?.size ?? 0, this.o.tree, from, to);
  }
}
