/**
 * Signs the transparency log's checkpoints (C2SP tlog-checkpoint as an Ed25519 signed note) and answers proof
 * requests, over any tree that keeps its hashes (store/tree.ts). A new checkpoint is signed after the tree
 * grew, at most every `intervalMs`, and only once the code has proved it consistent with the last one signed:
 * a log must never sign two inconsistent checkpoints (docs/transparency-log.md).
 */
import {
  type HashReader,
  formatCheckpoint,
  parseCheckpoint,
  parseNote,
  signNote,
  verifyConsistency,
  type NoteSigner,
} from '@catalyst-signal/shared';
import type { Logger } from '../logger.js';
import { consistencyAnswer, proofAnswer } from './served.js';
import { sha256 } from './tlog-crypto.js';

/** What the checkpoint signer needs from a tree that keeps its hashes. */
export interface CheckpointedTree {
  readonly size: number;
  /** Why no checkpoint can be signed over this tree, or undefined. */
  readonly unavailable: string | undefined;
  /** A stored hash of a complete subtree (level, index); throws when there is none. */
  readonly read: HashReader;
  root(size: number): Uint8Array;
  inclusion(index: number, size: number): Uint8Array[];
  consistency(first: number, second: number): Uint8Array[];
  latestCheckpoint(): { size: number; note: string } | undefined;
  saveCheckpoint(size: number, note: string, signedMs: number): void;
}

export interface CheckpointLogOptions {
  tree: CheckpointedTree;
  /** The checkpoint's origin line, also the signing key's name. */
  origin: string;
  signer: NoteSigner;
  /** The C2SP verifier key of `signer` (`<name>+<id>+<key>`), what clients pin. */
  vkey: string;
  intervalMs: number;
  log: Logger;
  now?: () => number;
  /** Witness cosignatures appended to the note served (log/witnesses.ts); absent: the log's signature only. */
  cosignatures?: { attach(size: number, note: string): string } | undefined;
}

/** Answer to a proof request. */
export type ProofAnswer =
  | { kind: 'proof'; file: string }
  /** The seq is stored but not yet covered by a signed checkpoint (ask again after the next one). */
  | { kind: 'pending'; covered: number }
  | { kind: 'unavailable'; why: string };

/** Answer to a consistency proof request. */
export type ConsistencyAnswer =
  | { kind: 'proof'; hashes: Uint8Array[] }
  | { kind: 'out_of_range'; why: string }
  | { kind: 'unavailable'; why: string };

interface Signed {
  size: number;
  root: Uint8Array;
  note: string;
}

/** A checkpoint just signed, and the size of the one before it (0 for the first). */
export interface CheckpointSigned {
  size: number;
  note: string;
  previousSize: number;
}

export class CheckpointLog {
  private latest: Signed | undefined;
  private lastSignedMs = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  /** Set once the tree turned out inconsistent with a signed checkpoint: nothing is signed again. */
  private halted: string | undefined;
  private closed = false;
  private readonly now: () => number;
  private readonly listeners: ((c: CheckpointSigned) => void)[] = [];

  constructor(private readonly o: CheckpointLogOptions) {
    this.now = o.now ?? Date.now;
    const last = o.tree.latestCheckpoint();
    if (last) {
      // Our own database: the stored note is trusted for its root (the key may have been rotated since).
      const c = parseCheckpoint(parseNote(last.note).text);
      this.latest = { size: c.size, root: c.rootHash, note: last.note };
    }
    // At once, not on a timer: a checkpoint is served from the first request on (size 0 for an empty log).
    this.signNow();
  }

  get vkey(): string {
    return this.o.vkey;
  }

  get origin(): string {
    return this.o.origin;
  }

  /** The latest signed checkpoint (a signed note), or undefined before the first one. */
  checkpoint(): string | undefined {
    return this.latestSigned()?.note;
  }

  /** The latest signed checkpoint with its size, or undefined before the first one. */
  latestSigned(): { size: number; note: string } | undefined {
    const l = this.latest;
    return l && { size: l.size, note: this.o.cosignatures?.attach(l.size, l.note) ?? l.note };
  }

  /** Called synchronously after each checkpoint is signed and stored (the stream's checkpoint frames). */
  onSigned(listener: (c: CheckpointSigned) => void): void {
    this.listeners.push(listener);
  }

  /** Inclusion proof of leaf `index` in the tree of `size` (a signed size: the caller checks). */
  inclusion(index: number, size: number): Uint8Array[] {
    return this.o.tree.inclusion(index, size);
  }

  /** The stored hash of a complete subtree (tiles are read from these). */
  hash(level: number, index: number): Uint8Array {
    return this.o.tree.read(level, index);
  }

  /** Consistency proof from the tree of `first` leaves to the one of `second` (both signed sizes). */
  consistency(first: number, second: number): Uint8Array[] {
    return this.o.tree.consistency(first, second);
  }

  /** Why checkpoints are not served, or undefined. */
  unavailable(): string | undefined {
    return this.halted ?? this.o.tree.unavailable;
  }

  /** The tree may have grown: sign a checkpoint now, or when the interval since the last one has passed. */
  grew(): void {
    if (this.timer || this.closed || this.unavailable()) return;
    if (this.latest && this.o.tree.size <= this.latest.size) return;
    const wait = Math.max(0, this.lastSignedMs + this.o.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.signNow();
    }, wait);
    this.timer.unref();
  }

  /** Signs a checkpoint of the tree as it is now, if it grew and is consistent with the last one. */
  signNow(): void {
    if (this.closed || this.unavailable()) return;
    const t = this.o.tree;
    const size = t.size;
    const last = this.latest;
    if (last && size <= last.size) return;
    let signed: CheckpointSigned | undefined;
    try {
      const root = t.root(size);
      if (last && last.size > 0) {
        const proof = t.consistency(last.size, size);
        if (!verifyConsistency(sha256, last.size, size, last.root, root, proof)) {
          this.halted = `the tree of size ${size} is not consistent with the checkpoint signed at size ${last.size}`;
          this.o.log.fatal(
            { size, last: last.size },
            `transparency log: ${this.halted}; no checkpoint is signed`,
          );
          return;
        }
      }
      const note = signNote(formatCheckpoint({ origin: this.o.origin, size, rootHash: root }), [
        this.o.signer,
      ]);
      const at = this.now();
      t.saveCheckpoint(size, note, at);
      this.latest = { size, root, note };
      this.lastSignedMs = at;
      signed = { size, note, previousSize: last?.size ?? 0 };
    } catch (err) {
      this.o.log.error({ err }, 'transparency log: signing a checkpoint failed; retried when the log grows');
    }
    if (signed) {
      for (const l of this.listeners) {
        try {
          l(signed);
        } catch (err) {
          this.o.log.error({ err }, 'transparency log: a checkpoint listener failed');
        }
      }
    }
    // Whatever arrived while signing is covered by the next one.
    this.grew();
  }

  /** A C2SP tlog-proof file for the signal with `seq` (leaf seq - 1) against the latest checkpoint. */
  proof(seq: number): ProofAnswer {
    return proofAnswer(this.unavailable(), this.latestSigned(), this.o.tree, seq);
  }

  /**
   * The RFC 6962 consistency proof from size `from` to size `to`, both at most the latest signed size (a client
   * only ever asks between checkpoints it has seen). Empty for from = 0 or from = to, as RFC 9162 verifies them.
   */
  consistencyAnswer(from: number, to: number): ConsistencyAnswer {
    return consistencyAnswer(this.unavailable(), this.latest?.size ?? 0, this.o.tree, from, to);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
