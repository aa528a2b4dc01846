/**
 * C2SP tlog-tiles paths (docs/transparency-log.md): hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles
 * `tile/entries/<N>[.p/<W>]`. A tile hash at tile level L, index i is the hash of the complete subtree at
 * binary level 8L, index i, so a tile is 256 (or W) consecutive subtree hashes. The server serves them
 * (server/src/log/tiles.ts), `catalyst-client log verify` reads them.
 */

export const TILE_WIDTH = 256;

export interface TileRequest {
  /** Tile level, or 'entries' for an entry bundle. */
  level: number | 'entries';
  index: number;
  /** Hashes (or entries) in the tile: 256 for a full one. */
  width: number;
  partial: boolean;
}

/** Tile index N as C2SP writes it: 3-digit groups, `x` before all but the last (1234067 -> x001/x234/067). */
export function formatTileIndex(n: number): string {
  const groups: string[] = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The path below `<prefix>/` of a tile (C2SP form: no height segment, unlike Go's own paths). */
export function tilePath(t: TileRequest): string {
  return `tile/${t.level}/${formatTileIndex(t.index)}${t.partial ? `.p/${t.width}` : ''}`;
}

/**
 * Parses the part after `tile/`. Only the canonical spelling is accepted (it is what caches key on):
 * no leading zeros in L or W, 3-digit groups in N without a redundant leading `x000`.
 */
export function parseTilePath(rest: string): TileRequest | undefined {
  const m = /^(entries|0|[1-9]\d?)\/((?:x\d{3}\/)*\d{3})(?:\.p\/([1-9]\d{0,2}))?$/.exec(rest);
  if (!m) return undefined;
  const level = m[1] === 'entries' ? 'entries' : Number(m[1]);
  if (typeof level === 'number' && level > 63) return undefined;
  const digits = m[2]!.replace(/x|\//g, '');
  if (digits.length > 15) return undefined; // beyond any log this server can hold
  const index = Number(digits);
  if (formatTileIndex(index) !== m[2]) return undefined;
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (width < 1 || width > 255 + (m[3] === undefined ? 1 : 0)) return undefined;
  return { level, index, width, partial: m[3] !== undefined };
}

/** Leaves a tree needs before this tile (or bundle) exists in it; Infinity past any size a Number holds. */
export function sizeNeeded(t: TileRequest): number {
  const perHash = t.level === 'entries' ? 1 : TILE_WIDTH ** t.level;
  const n = (t.index * TILE_WIDTH + t.width) * perHash;
  return Number.isSafeInteger(n) ? n : Infinity;
}
