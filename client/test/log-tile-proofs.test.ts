import { describe, expect, it } from 'vitest';
import { MemoryTree, PATHS, bytesEqual, parseTilePath, utf8Bytes } from '@catalyst-signal/shared';
import { TileProver } from '../src/log-tile-proofs.js';
import { sha256 } from '../src/log-verify.js';

// Inclusion proofs from hash tiles are the proofs the tree itself gives, at tile boundaries (255/256/257, a
// second tile level past 65,536 leaves), with each tile fetched once and only tiles that exist in that tree.

function servedTiles(tree: MemoryTree, size: number) {
  const fetched: string[] = [];
  const fetchTile = (path: string, maxBytes: number): Promise<Uint8Array> => {
    fetched.push(path);
    const t = parseTilePath(path.slice(PATHS.logTile.length + 1));
    if (!t || t.level === 'entries') throw new Error(`not a hash tile: ${path}`);
    // What the server serves: 256 (or W) stored hashes of binary level 8L, never past the tree's size.
    if ((t.index * 256 + t.width) * 256 ** t.level > size)
      throw new Error(`${path} is not in a tree of ${size}`);
    const out = new Uint8Array(t.width * 32);
    for (let i = 0; i < t.width; i++) out.set(tree.read(8 * t.level, t.index * 256 + i), i * 32);
    expect(out.length).toBeLessThanOrEqual(maxBytes);
    return Promise.resolve(out);
  };
  return { fetched, fetchTile };
}

describe('TileProver', () => {
  const tree = new MemoryTree(sha256);
  const N = 65_537 + 300;
  for (let i = 0; i < N; i++) tree.append(utf8Bytes(`leaf ${i}`));

  it("gives the tree's own audit path for leaves around every tile boundary and tree size", async () => {
    for (const size of [1, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, N]) {
      const { fetched, fetchTile } = servedTiles(tree, size);
      const prover = new TileProver(fetchTile, sha256);
      for (const index of new Set(
        [0, 1, 254, 255, 256, 257, size - 257, size - 2, size - 1].filter((i) => i >= 0 && i < size),
      )) {
        const want = tree.inclusion(index, size);
        const got = await prover.inclusion(index, size);
        expect(got.length, `${index} of ${size}`).toBe(want.length);
        expect(
          got.every((h, k) => bytesEqual(h, want[k]!)),
          `${index} of ${size}`,
        ).toBe(true);
      }
      expect(new Set(fetched).size, `each tile once (size ${size})`).toBe(fetched.length);
    }
  });

  it('a burst of leaves in one tile costs its tiles once, not a request per leaf', async () => {
    const { fetched, fetchTile } = servedTiles(tree, N);
    const prover = new TileProver(fetchTile, sha256);
    for (let i = 65_600; i < 65_800; i++) await prover.inclusion(i, N);
    expect(fetched.length).toBeLessThanOrEqual(4);
  });
});
