/**
 * RFC 6962 / RFC 9162 §2.1 Merkle trees, pure: hashing is injected (node:crypto on the server and in the CLI,
 * a synchronous implementation in a page), so this file runs anywhere and is property-testable.
 *
 * A tree is read through `HashReader`: the hash of every complete, aligned subtree of 2^level leaves (index i
 * covers leaves [i·2^level, (i+1)·2^level)). Those are exactly the hashes an append-only store keeps (about two
 * per leaf, never rewritten); every other subtree hash, root or proof is computed from them.
 */
import { bytesEqual, concatBytes, utf8Bytes } from './bytes.js';

/** SHA-256 of the given bytes (32 bytes out). */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** The stored hash of the complete subtree `index` at `level` (level 0 = leaf hashes). */
export type HashReader = (level: number, index: number) => Uint8Array;

export interface StoredHash {
  level: number;
  index: number;
  hash: Uint8Array;
}

const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

export const leafHash = (h: Sha256, leaf: Uint8Array): Uint8Array => h(concatBytes(LEAF_PREFIX, leaf));

export const nodeHash = (h: Sha256, left: Uint8Array, right: Uint8Array): Uint8Array =>
  h(concatBytes(NODE_PREFIX, left, right));

/** RFC 6962's hash of the empty tree: SHA-256 of nothing (Go's tlog.TreeHash(0) answers zeros instead). */
export const emptyTreeHash = (h: Sha256): Uint8Array => h(utf8Bytes(''));

const isSize = (n: number) => Number.isSafeInteger(n) && n >= 0;

/** The largest power of two strictly below n (n ≥ 2): where RFC 6962 splits a tree of n leaves. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2Exact(n: number): number | undefined {
  let level = 0;
  for (let p = 1; p <= n; p *= 2, level++) if (p === n) return level;
  return undefined;
}

/**
 * The hashes to store when leaf `size` (0-based) is appended to a tree of `size` leaves: the leaf hash, then
 * each parent this leaf completes. `read` is only asked for hashes already stored.
 */
export function hashesForAppend(
  h: Sha256,
  size: number,
  leafHashValue: Uint8Array,
  read: HashReader,
): StoredHash[] {
  const out: StoredHash[] = [{ level: 0, index: size, hash: leafHashValue }];
  let index = size;
  let hash = leafHashValue;
  for (let level = 0; index % 2 === 1; level++) {
    index = (index - 1) / 2;
    hash = nodeHash(h, read(level, index * 2), hash);
    out.push({ level: level + 1, index, hash });
  }
  return out;
}

/** MTH(D[lo:hi]) for a range an RFC 6962 recursion produces (lo a multiple of the power of two it splits at). */
function rangeHash(h: Sha256, read: HashReader, lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  const level = log2Exact(n);
  if (level !== undefined && lo % n === 0) return read(level, lo / n);
  const k = splitPoint(n);
  return nodeHash(h, rangeHash(h, read, lo, lo + k), rangeHash(h, read, lo + k, hi));
}

/** The root hash of the first `size` leaves. */
export function treeHash(h: Sha256, size: number, read: HashReader): Uint8Array {
  if (!isSize(size)) throw new RangeError(`tree size ${size} is not a non-negative integer`);
  return size === 0 ? emptyTreeHash(h) : rangeHash(h, read, 0, size);
}

/** RFC 6962 §2.1.1 audit path of leaf `index` in the tree of `size` leaves, the leaf's sibling first. */
export function inclusionProof(h: Sha256, index: number, size: number, read: HashReader): Uint8Array[] {
  if (!isSize(index) || !isSize(size) || index >= size)
    throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Uint8Array[] = [];
  // Iterative form of PATH(m, D[lo:hi]): descend towards the leaf, collect the other side, reverse at the end.
  let lo = 0;
  let hi = size;
  let m = index;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(rangeHash(h, read, lo + k, hi));
      hi = lo + k;
    } else {
      path.push(rangeHash(h, read, lo, lo + k));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** RFC 6962 §2.1.2 consistency proof from the tree of `first` leaves to the tree of `second` (0 < first ≤ second). */
export function consistencyProof(h: Sha256, first: number, second: number, read: HashReader): Uint8Array[] {
  if (!isSize(first) || !isSize(second) || first < 1 || first > second)
    throw new RangeError(`no consistency proof from size ${first} to size ${second}`);
  const proof: Uint8Array[] = [];
  let lo = 0;
  let hi = second;
  let m = first;
  let complete = true; // SUBPROOF's b: the subtree so far is a whole subtree of the old tree
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      proof.push(rangeHash(h, read, lo + k, hi));
      hi = lo + k;
    } else {
      proof.push(rangeHash(h, read, lo, lo + k));
      lo += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(rangeHash(h, read, lo, hi));
  return proof.reverse();
}

const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

/** RFC 9162 §2.1.3.2: does `proof` place `leafHashValue` at `index` in the tree of `size` leaves with `root`? */
export function verifyInclusion(
  h: Sha256,
  index: number,
  size: number,
  leafHashValue: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isSize(index) || !isSize(size) || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHashValue;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(h, p, r);
      if (!odd(fn))
        do {
          fn = half(fn);
          sn = half(sn);
        } while (!odd(fn) && fn !== 0);
    } else {
      r = nodeHash(h, r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * RFC 9162 §2.1.4.2: is the tree of `first` leaves with `firstRoot` a prefix of the tree of `second` leaves with
 * `secondRoot`? Equal sizes need an empty proof and equal roots; the empty tree is a prefix of every tree.
 */
export function verifyConsistency(
  h: Sha256,
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(first) || !isSize(second) || first > second) return false;
  if (first === second) return proof.length === 0 && bytesEqual(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0 && bytesEqual(firstRoot, emptyTreeHash(h));
  if (proof.length === 0) return false;
  const path = log2Exact(first) !== undefined ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(h, c, fr);
      sr = nodeHash(h, c, sr);
      if (!odd(fn))
        do {
          fn = half(fn);
          sn = half(sn);
        } while (!odd(fn) && fn !== 0);
    } else {
      sr = nodeHash(h, sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot);
}

/** An append-only tree held in memory (tests, a client checking a range): the stored hashes by level. */
export class MemoryTree {
  private readonly levels: Uint8Array[][] = [];

  constructor(private readonly h: Sha256) {}

  get size(): number {
    return this.levels[0]?.length ?? 0;
  }

  readonly read: HashReader = (level, index) => {
    const v = this.levels[level]?.[index];
    if (!v) throw new RangeError(`no stored hash at level ${level}, index ${index}`);
    return v;
  };

  /** Appends one leaf (its bytes), returning its 0-based index. */
  append(leaf: Uint8Array): number {
    const index = this.size;
    for (const s of hashesForAppend(this.h, index, leafHash(this.h, leaf), this.read))
      (this.levels[s.level] ??= [])[s.index] = s.hash;
    return index;
  }

  root(size = this.size): Uint8Array {
    return treeHash(this.h, size, this.read);
  }

  inclusion(index: number, size = this.size): Uint8Array[] {
    return inclusionProof(this.h, index, size, this.read);
  }

  consistency(first: number, second = this.size): Uint8Array[] {
    return consistencyProof(this.h, first, second, this.read);
  }
}
