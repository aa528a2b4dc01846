import {
  consistencyProof,
  hashesForAppend,
  inclusionProof,
  leafHash,
  treeHash,
  type HashReader,
} from '@catalyst-signal/shared';
import { sha256 } from '../log/tlog-crypto.js';
import type { Db } from './db.js';

const SQL = {
  size: `SELECT coalesce(max(idx) + 1, 0) FROM tlog_leaves`,
  get: `SELECT hashes FROM tlog_leaves WHERE idx = ?`,
  put: `INSERT INTO tlog_leaves (idx, hashes) VALUES (?, ?)`,
  latestCheckpoint: `SELECT size, note FROM tlog_checkpoints ORDER BY size DESC LIMIT 1`,
  putCheckpoint: `INSERT INTO tlog_checkpoints (size, note, signed_ms) VALUES (?, ?, ?)`,
} as const;

const HASH = 32;

/**
 * The leaf whose append completed the subtree hash at (level, index), whose row holds it: the subtree covers
 * leaves index·2^level .. (index+1)·2^level − 1 and is complete when the last of them is appended.
 */
export const completingLeaf = (level: number, index: number): number => (index + 1) * 2 ** level - 1;

/**
 * The transparency log's Merkle tree on SQLite (docs/transparency-log.md): the stored hashes of complete
 * subtrees, appended in the same transaction as the signals they cover (SignalStore.insert), never rewritten
 * and never pruned; plus the checkpoints signed over it. Roots and proofs come from shared/src/tlog.
 *
 * One row per leaf: the hashes its append completed, levels 0, 1, ... concatenated (32 bytes each; leaf i
 * completes level L when 2^L divides i + 1). One insert per signal, at the end of a rowid table, where a row
 * per hash (about two per signal, in a (level, idx) b-tree) cost single-signal ingest about 2 % of its CPU.
 */
export class TreeStore {
  private sizeNow: number;
  private readonly stmt;
  /** Why no checkpoint can be signed over this tree (it cannot start at seq 1), or undefined. */
  unavailable: string | undefined;
  /**
   * The newest stored hash at each level: every read an append makes is one of these (the left siblings on
   * the tree's right edge), so appends do not query. Cleared with resync(), refilled as hashes are stored.
   */
  private edge: { index: number; hash: Uint8Array }[] = [];

  constructor(db: Db) {
    this.stmt = {
      size: db.prepare(SQL.size).pluck(),
      get: db.prepare(SQL.get).pluck(),
      put: db.prepare(SQL.put),
      latestCheckpoint: db.prepare(SQL.latestCheckpoint),
      putCheckpoint: db.prepare(SQL.putCheckpoint),
    };
    this.sizeNow = Number(this.stmt.size.get());
  }

  /** Leaves in the tree (= the seq of the last signal hashed). */
  get size(): number {
    return this.sizeNow;
  }

  readonly read: HashReader = (level, index) => {
    const e = this.edge[level];
    if (e?.index === index) return e.hash;
    const b = this.stmt.get.get(completingLeaf(level, index)) as Buffer | undefined;
    if (!b || b.byteLength < (level + 1) * HASH)
      throw new Error(`transparency log: no stored hash at level ${level}, index ${index}`);
    return new Uint8Array(b.buffer, b.byteOffset + level * HASH, HASH);
  };

  /** Appends leaf `index` (must be `size`); call inside the transaction that stores the signal. */
  append(index: number, leaf: Uint8Array): void {
    if (index !== this.sizeNow)
      throw new Error(`transparency log: leaf ${index} appended at size ${this.sizeNow}`);
    const hashes = hashesForAppend(sha256, index, leafHash(sha256, leaf), this.read);
    const row = Buffer.allocUnsafe(hashes.length * HASH);
    for (const h of hashes) {
      row.set(h.hash, h.level * HASH);
      this.edge[h.level] = { index: h.index, hash: h.hash };
    }
    this.stmt.put.run(index, row);
    this.sizeNow++;
  }

  /** After a failed transaction, take the size back from the database. */
  resync(): void {
    this.edge = [];
    this.sizeNow = Number(this.stmt.size.get());
  }

  root(size = this.sizeNow): Uint8Array {
    return treeHash(sha256, size, this.read);
  }

  inclusion(index: number, size: number): Uint8Array[] {
    return inclusionProof(sha256, index, size, this.read);
  }

  consistency(first: number, second: number): Uint8Array[] {
    return consistencyProof(sha256, first, second, this.read);
  }

  latestCheckpoint(): { size: number; note: string } | undefined {
    return this.stmt.latestCheckpoint.get() as { size: number; note: string } | undefined;
  }

  saveCheckpoint(size: number, note: string, signedMs: number): void {
    this.stmt.putCheckpoint.run(size, note, signedMs);
  }
}
