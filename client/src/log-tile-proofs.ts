import {
  PATHS,
  TILE_WIDTH,
  inclusionProof,
  nodeHash,
  tilePath,
  type Sha256,
  type TileRequest,
} from '@catalyst-signal/shared';

/** A tile's path on the server: `/v1/log/tile/<L>/<N>[.p/<W>]`. */
export const tileUrlPath = (t: TileRequest): string =>
  `${PATHS.logTile}/${tilePath(t).slice('tile/'.length)}`;

/** Tiles kept by a TileProver: at most this many (a tile is at most 8 KB). */
const MAX_CACHED_TILES = 256;
const NO_HASH = new Uint8Array(32);

/**
 * Inclusion proofs built from the log's hash tiles (C2SP tlog-tiles, the way Go's TileHashReader reads them): for
 * leaves a checkpoint frame did not prove (more than `max_proofs` in one interval, a long replay). The hashes a
 * proof needs are read from a few tiles, kept for the next leaves, so a burst of signals costs a handful of
 * requests instead of one tlog-proof each. Nothing here is trusted: the caller checks the proof against the
 * signed root, and a proof that does not verify is only "not proven from tiles" (the tlog-proof decides).
 */
export class TileProver {
  private readonly cache = new Map<string, Uint8Array>();

  constructor(
    private readonly fetchTile: (path: string, maxBytes: number) => Promise<Uint8Array>,
    private readonly h: Sha256,
  ) {}

  /** Leaf `index`'s audit path in the tree of `size`, from tiles (fetching the missing ones). */
  async inclusion(index: number, size: number): Promise<Uint8Array[]> {
    // Which hashes a proof reads depends only on index and size: a first pass names them, the tiles come, then
    // the second pass reads them.
    const wanted: { level: number; index: number }[] = [];
    inclusionProof(this.h, index, size, (level, i) => (wanted.push({ level, index: i }), NO_HASH));
    for (const w of wanted) {
      const t = tileOf(w.level, w.index, size);
      if (!this.cache.has(t.path)) {
        const bytes = await this.fetchTile(t.path, t.width * 32);
        if (bytes.length !== t.width * 32)
          throw new Error(`${t.path}: ${bytes.length} bytes, not ${t.width} hashes`);
        this.cache.set(t.path, bytes);
        if (this.cache.size > MAX_CACHED_TILES) this.cache.delete(this.cache.keys().next().value!);
      }
    }
    return inclusionProof(this.h, index, size, (level, i) => {
      const t = tileOf(level, i, size);
      return hashUp(this.h, this.cache.get(t.path)!, t.first, t.count);
    });
  }
}

/**
 * The root of the complete subtree over `count` (a power of two) consecutive 32-byte hashes of `hashes`, from
 * position `first`: what a subtree hash between two tile levels is, and what a run of leaf hashes rolls up to.
 */
export function hashUp(h: Sha256, hashes: Uint8Array, first: number, count: number): Uint8Array {
  let level: Uint8Array[] = [];
  for (let p = first; p < first + count; p++) level.push(hashes.subarray(p * 32, p * 32 + 32));
  while (level.length > 1) {
    const up: Uint8Array[] = [];
    for (let p = 0; p < level.length; p += 2) up.push(nodeHash(h, level[p]!, level[p + 1]!));
    level = up;
  }
  return level[0]!;
}

/**
 * The tile holding the complete subtree hash at binary `level`, `index` in a tree of `size`: tile level L =
 * level / 8, its `count` = 2^(level mod 8) hashes from position `first`, and the tile's width in that tree.
 */
function tileOf(
  level: number,
  index: number,
  size: number,
): { path: string; width: number; first: number; count: number } {
  const L = Math.floor(level / 8);
  const count = 2 ** (level % 8);
  const at = index * count; // the first hash at binary level 8L
  const tileIndex = Math.floor(at / TILE_WIDTH);
  const complete = Math.floor(size / TILE_WIDTH ** L); // complete hashes at binary level 8L
  const width = Math.min(TILE_WIDTH, complete - tileIndex * TILE_WIDTH);
  const path = tileUrlPath({ level: L, index: tileIndex, width, partial: width < TILE_WIDTH });
  return { path, width, first: at - tileIndex * TILE_WIDTH, count };
}
