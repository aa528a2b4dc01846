import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MemoryTree,
  leafHash,
  nodeHash,
  toHex,
  utf8Bytes,
  verifyConsistency,
  verifyInclusion,
  type Sha256,
} from '../src/index.js';
import { sha256 } from './helpers/tlog-node.js';

/** RFC 6962 §2.1's MTH, written straight from the definition: the reference the stored-hash code must match. */
function mth(h: Sha256, leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return h(new Uint8Array(0));
  if (leaves.length === 1) return leafHash(h, leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(h, mth(h, leaves.slice(0, k)), mth(h, leaves.slice(k)));
}

/** Distinct leaves (the index is part of each), so changing an index or a leaf is a real change. */
const leavesArb = fc
  .array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 300 })
  .map((xs) => xs.map((x, i) => new Uint8Array([...utf8Bytes(`${i}:`), ...x])));

function treeOf(leaves: Uint8Array[]): MemoryTree {
  const t = new MemoryTree(sha256);
  for (const l of leaves) t.append(l);
  return t;
}

const flip = (proof: Uint8Array[], i: number, bit: number): Uint8Array[] =>
  proof.map((p, j) => (j === i ? p.map((b, k) => (k === bit >> 3 ? b ^ (1 << (bit & 7)) : b)) : p));

describe('RFC 6962 vectors', () => {
  // The tree of certificate-transparency-go's and Trillian's tests: leaves "", 00, 10, 2021, 3031, 40414243, ...
  const hex = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ];
  const roots = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  it('roots of sizes 1..8, and the empty tree is SHA-256("")', () => {
    const t = treeOf(hex.map((x) => new Uint8Array(Buffer.from(x, 'hex'))));
    expect(roots.map((_, i) => toHex(t.root(i + 1)))).toEqual(roots);
    expect(toHex(t.root(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('Merkle tree properties (random append sequences)', () => {
  it('the stored-hash root equals MTH for every size', () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        const t = treeOf(leaves);
        for (let n = 0; n <= leaves.length; n += Math.max(1, Math.floor(leaves.length / 17)))
          expect(toHex(t.root(n))).toBe(toHex(mth(sha256, leaves.slice(0, n))));
      }),
      { numRuns: 40 },
    );
  });

  it('every inclusion proof verifies; another leaf, index, proof hash or size (with its root) fails', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, c, d) => {
        const t = treeOf(leaves);
        const size = 1 + (a % leaves.length);
        const index = b % size;
        const proof = t.inclusion(index, size);
        const root = t.root(size);
        const lh = leafHash(sha256, leaves[index]!);
        expect(verifyInclusion(sha256, index, size, lh, proof, root)).toBe(true);

        const other = leaves[(index + 1 + (c % (leaves.length - 1 || 1))) % leaves.length]!;
        if (other !== leaves[index])
          expect(verifyInclusion(sha256, index, size, leafHash(sha256, other), proof, root)).toBe(false);
        if (size > 1)
          expect(verifyInclusion(sha256, (index + 1 + (c % (size - 1))) % size, size, lh, proof, root)).toBe(
            false,
          );
        if (proof.length) {
          const bad = flip(proof, c % proof.length, d % 256);
          expect(verifyInclusion(sha256, index, size, lh, bad, root)).toBe(false);
          expect(verifyInclusion(sha256, index, size, lh, proof.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(sha256, index, size, lh, [...proof, root], root)).toBe(false);
        // A size is only ever checked together with the root signed for it (a checkpoint binds both).
        const otherSize = index + 1 + (d % leaves.length);
        if (otherSize !== size && otherSize <= leaves.length)
          expect(verifyInclusion(sha256, index, otherSize, lh, proof, t.root(otherSize))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies; another root, proof hash or size (with its root) fails', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, c, d) => {
        const t = treeOf(leaves);
        const second = 1 + (a % leaves.length);
        const first = 1 + (b % second);
        const proof = t.consistency(first, second);
        const r1 = t.root(first);
        const r2 = t.root(second);
        expect(verifyConsistency(sha256, first, second, r1, r2, proof)).toBe(true);
        expect(verifyConsistency(sha256, 0, second, t.root(0), r2, [])).toBe(true);

        if (first < second) {
          expect(verifyConsistency(sha256, first, second, r2, r2, proof)).toBe(false);
          expect(verifyConsistency(sha256, first, second, r1, r1, proof)).toBe(false);
          const bad = flip(proof, c % proof.length, d % 256);
          expect(verifyConsistency(sha256, first, second, r1, r2, bad)).toBe(false);
          expect(verifyConsistency(sha256, first, second, r1, r2, proof.slice(0, -1))).toBe(false);
          expect(verifyConsistency(sha256, first, second, r1, r2, [...proof, r2])).toBe(false);
        } else {
          expect(verifyConsistency(sha256, first, second, r1, t.root(first - 1), proof)).toBe(false);
        }
        const otherFirst = 1 + (c % second);
        if (otherFirst !== first)
          expect(verifyConsistency(sha256, otherFirst, second, t.root(otherFirst), r2, proof)).toBe(false);
        const otherSecond = first + (d % (leaves.length - first + 1));
        if (otherSecond !== second)
          expect(verifyConsistency(sha256, first, otherSecond, r1, t.root(otherSecond), proof)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a history rewritten at any one leaf is inconsistent with what was seen before it', () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (leaves, a, b) => {
        if (leaves.length < 2) return;
        const first = 1 + (a % (leaves.length - 1));
        const changed = b % first;
        const forked = leaves.map((l, i) => (i === changed ? new Uint8Array([...l, 0xff]) : l));
        const honest = treeOf(leaves);
        const liar = treeOf(forked);
        const n = leaves.length;
        expect(
          verifyConsistency(sha256, first, n, honest.root(first), liar.root(n), liar.consistency(first, n)),
        ).toBe(false);
        expect(
          verifyConsistency(sha256, first, n, honest.root(first), liar.root(n), honest.consistency(first, n)),
        ).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
