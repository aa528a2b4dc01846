import type { CheckpointSigned, ConsistencyAnswer, ProofAnswer } from './checkpoints.js';

/**
 * What /v1/log/* and the stream's `checkpoint` frames serve, whoever made the checkpoints: the node that signs
 * them (single node: CheckpointLog) or a mirror of the ones a cluster's lease holder published
 * (log/mirror.ts). Proofs are always computed over this node's own tree.
 */
export interface ServedLog {
  /** The checkpoint's origin line, also the signing key's name. */
  readonly origin: string;
  /** The C2SP verifier key clients pin. */
  readonly vkey: string;
  /** Why no checkpoint is served, or undefined. */
  unavailable(): string | undefined;
  /**
   * Why this node has no transparency log at all (404, so a client's `log.verify: auto` turns off), or
   * undefined: a cluster where no node signs. Absent on a node that signs its own.
   */
  absent?(): string | undefined;
  /** The latest checkpoint served (a signed note), or undefined before the first one. */
  checkpoint(): string | undefined;
  latestSigned(): { size: number; note: string } | undefined;
  /** Called synchronously each time a newer checkpoint is served. */
  onSigned(listener: (c: CheckpointSigned) => void): void;
  inclusion(index: number, size: number): Uint8Array[];
  consistency(first: number, second: number): Uint8Array[];
  /** A stored hash of a complete subtree (tiles). */
  hash(level: number, index: number): Uint8Array;
  proof(seq: number): ProofAnswer;
  consistencyAnswer(from: number, to: number): ConsistencyAnswer;
}
