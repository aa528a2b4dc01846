import { gzipSync } from 'node:zlib';

/**
 * Gzip for the log's entry bundles (the tlog-tiles spec asks logs to serve them compressed when the client
 * accepts it; the signals' JSON shrinks about 4x). Only there: other answers are small or already binary.
 */

/**
 * Whether an Accept-Encoding header value accepts gzip: `gzip` or `x-gzip` with q > 0, or else `*` with q > 0
 * (a coding named outright wins over `*`).
 */
export function acceptsGzip(header: string): boolean {
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2).trim()) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return ok;
    if (coding === '*') star = ok;
  }
  return star ?? false;
}

/** How many compressed full bundles are kept (a full bundle never changes): at most about 25 KB each. */
const CACHED_BUNDLES = 64;

/** Compresses entry bundles; full ones (immutable) are kept, the newest CACHED_BUNDLES of them. */
export class BundleGzip {
  private readonly full = new Map<number, Uint8Array>();

  /** `bundle` builds the uncompressed bundle; a kept full one is not built again. */
  compress(index: number, isFull: boolean, bundle: () => Uint8Array): Uint8Array {
    const cached = isFull ? this.full.get(index) : undefined;
    if (cached) return cached;
    const out = new Uint8Array(gzipSync(bundle()));
    if (isFull) {
      this.full.set(index, out);
      if (this.full.size > CACHED_BUNDLES) this.full.delete(this.full.keys().next().value!);
    }
    return out;
  }
}
