import { formatTlogProof } from '@catalyst-signal/shared';
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

/** The proofs a served log answers with, over this node's own tree. */
interface ProvingTree {
  inclusion(index: number, size: number): Uint8Array[];
  consistency(first: number, second: number): Uint8Array[];
}

/**
 * A C2SP tlog-proof file for the signal with `seq` (leaf seq - 1) against the latest served checkpoint, with
 * the witness cosignatures it has so far (the file then shows offline who saw that tree): the same answer
 * whether this node signed it (CheckpointLog) or mirrors it (CheckpointMirror).
 */
export function proofAnswer(
  why: string | undefined,
  latest: { size: number; note: string } | undefined,
  tree: ProvingTree,
  seq: number,
): ProofAnswer {
  if (why) return { kind: 'unavailable', why };
  if (!latest || seq > latest.size) return { kind: 'pending', covered: latest?.size ?? 0 };
  return {
    kind: 'proof',
    file: formatTlogProof({
      index: seq - 1,
      proof: tree.inclusion(seq - 1, latest.size),
      checkpoint: latest.note,
    }),
  };
}

/**
 * The RFC 6962 consistency proof from size `from` to size `to`, both at most the latest served size (a client
 * only ever asks between checkpoints it has seen). Empty for from = 0 or from = to, as RFC 9162 verifies them.
 */
export function consistencyAnswer(
  why: string | undefined,
  servedSize: number,
  tree: ProvingTree,
  from: number,
  to: number,
): ConsistencyAnswer {
  if (why) return { kind: 'unavailable', why };
  if (from > to || to > servedSize)
    return { kind: 'out_of_range', why: `need 0 <= from <= to <= ${servedSize} (the latest signed size)` };
  return { kind: 'proof', hashes: from === 0 || from === to ? [] : tree.consistency(from, to) };
}
