/**
 * The transparency log served the C2SP tlog-tiles way (docs/transparency-log.md): hash tiles
 * `tile/<L>/<N>[.p/<W>]` and entry bundles `tile/entries/<N>[.p/<W>]`, read from the hashes the tree already
 * stores. A tile hash at tile level L, index i is the stored hash of the complete subtree at binary level
 * 8L, index i (MTH of leaves [i * 256^L, (i + 1) * 256^L)), so a tile is 256 (or W) consecutive stored hashes.
 * Only what the latest signed checkpoint covers is served: a client fetches tiles for a size it verified.
 */
import { TILE_WIDTH, type HashReader, type TileRequest } from '@catalyst-signal/shared';
import { MAX_LEAF_BYTES } from './leaf.js';

// The paths are the spec's, shared with the client that reads them (shared/src/tlog/tiles.ts).
export {
  TILE_WIDTH,
  formatTileIndex,
  parseTilePath,
  sizeNeeded,
  tilePath,
  type TileRequest,
} from '@catalyst-signal/shared';

/** The tile's bytes: `width` stored hashes of level 8L, from index N * 256. */
export function readTile(t: TileRequest & { level: number }, read: HashReader): Uint8Array {
  const out = new Uint8Array(t.width * 32);
  for (let i = 0; i < t.width; i++) out.set(read(8 * t.level, t.index * TILE_WIDTH + i), i * 32);
  return out;
}

/** An entry bundle from the leaves in order: each a big-endian uint16 length, then the bytes. */
export function entryBundle(leaves: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const l of leaves) {
    if (l.length > MAX_LEAF_BYTES)
      throw new RangeError(`a leaf of ${l.length} bytes does not fit an entry bundle`);
    size += 2 + l.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const l of leaves) {
    out[at] = l.length >> 8;
    out[at + 1] = l.length & 0xff;
    out.set(l, at + 2);
    at += 2 + l.length;
  }
  return out;
}
