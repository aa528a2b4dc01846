import { TILE_WIDTH, bytesEqual, leafHash, treeHash, type Signal } from '@catalyst-signal/shared';
import { HttpError } from './http.js';
import { hashUp, tileUrlPath } from './log-tile-proofs.js';
import { leafBytes, sha256, type LogVerifier } from './log-verify.js';

/**
 * `log verify` in bulk (docs/transparency-log.md, "The client verifies"): the level-0 hash tiles of the latest
 * accepted checkpoint, one request per 256 signals instead of one proof per signal, must rebuild that
 * checkpoint's signed root; a journaled signal whose leaf hash is the tile's is then proven. Whatever this cannot
 * prove (beyond the checkpoint, another hash, tiles that do not rebuild the root, a server without tiles) is left
 * to the per-signal proof, which writes the evidence when the log misbehaved: tiles are not signed, so a tile
 * that disagrees proves nothing on its own.
 */

export type TileLeaves =
  { ok: true; size: number; tiles: number; has(signal: Signal): boolean } | { ok: false; why: string };

/** Bytes of a full hash tile. */
const TILE_BYTES = TILE_WIDTH * 32;

export async function tileLeaves(
  verifier: LogVerifier,
  progress: (line: string) => void,
): Promise<TileLeaves> {
  const latest = await verifier.latestAccepted();
  if (!latest) return { ok: false, why: 'no server can prove its latest checkpoint consistent yet' };
  const { size, rootHash } = latest;
  const count = Math.ceil(size / TILE_WIDTH);
  const leaves = Buffer.alloc(size * 32);
  let lastReport = Date.now();
  for (let i = 0; i < count; i++) {
    const width = Math.min(TILE_WIDTH, size - i * TILE_WIDTH);
    const path = tileUrlPath({ level: 0, index: i, width, partial: width < TILE_WIDTH });
    let tile: Uint8Array;
    try {
      tile = await verifier.tileBytes(path, TILE_BYTES);
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) return { ok: false, why: `${path}: not served (404)` };
      throw e;
    }
    if (tile.length !== width * 32)
      return { ok: false, why: `${path}: ${tile.length} bytes, not ${width} hashes` };
    leaves.set(tile, i * TILE_BYTES);
    if (Date.now() - lastReport >= 2000) {
      lastReport = Date.now();
      progress(`read ${i + 1}/${count} hash tiles (tree size ${size})`);
    }
  }
  if (!bytesEqual(rootOf(leaves, size), rootHash))
    return { ok: false, why: `the hash tiles do not rebuild the root of the checkpoint of size ${size}` };
  return {
    ok: true,
    size,
    tiles: count,
    has: (signal) =>
      signal.seq <= size &&
      bytesEqual(
        leafHash(sha256, leafBytes(signal)),
        leaves.subarray((signal.seq - 1) * 32, signal.seq * 32),
      ),
  };
}

/** RFC 6962 root of `size` leaf hashes laid end to end: each complete subtree of it rolled up once. */
function rootOf(leaves: Buffer, size: number): Uint8Array {
  return treeHash(sha256, size, (level, i) => hashUp(sha256, leaves, i * 2 ** level, 2 ** level));
}
