import { PATHS, toBase64 } from '@catalyst-signal/shared';
import { badRequest, notFound, unavailable } from '../errors.js';
import { entryBundle, parseTilePath, readTile, sizeNeeded, TILE_WIDTH } from '../log/tiles.js';
import type { ServedLog } from '../log/served.js';
import { acceptsGzip, BundleGzip } from './gzip.js';
import type { SignalLogReader } from '../log/types.js';
import type { Reply } from './respond.js';
import type { RoutesDeps } from './routes.js';
import type { route as registerRoute } from './route.js';

type Route = (...args: Parameters<typeof registerRoute>) => void;

/** C2SP formats are text; Cache-Control stays no-store (respond.ts), within the spec's "a few seconds". */
const TEXT = 'text/plain; charset=utf-8';
/** A tile's bytes never change (an append-only tree; a partial tile of width W is always the same W hashes). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The transparency log (docs/transparency-log.md): the latest signed checkpoint, and one signal's tlog-proof
 * file against it. Read scope, like the signals they cover.
 */
export function registerLogRoutes(d: RoutesDeps, t: ServedLog, reader: SignalLogReader, route: Route): void {
  // A cluster where no node signs answers like a server without a log, not "try again" (docs/transparency-log.md).
  const present = () => {
    const none = t.absent?.();
    if (none) throw notFound(none);
  };
  route(d, 'get', PATHS.logCheckpoint, { scope: 'read' }, () => {
    present();
    const why = t.unavailable();
    if (why) throw unavailable(`transparency log unavailable: ${why}`);
    const note = t.checkpoint();
    if (!note) throw unavailable('no checkpoint signed yet');
    return { status: 200, raw: note, contentType: TEXT } satisfies Reply;
  });

  route(d, 'get', `${PATHS.logProof}/:seq`, { scope: 'read', params: 1 }, (ctx) => {
    const p = ctx.info.params[0] ?? '';
    if (!/^\d{1,16}$/.test(p) || Number(p) < 1)
      throw badRequest('seq must be a positive integer', [{ path: 'seq', message: 'a positive integer' }]);
    const seq = Number(p);
    if (seq > reader.head) throw notFound(`no signal with seq ${seq}`);
    present();
    const a = t.proof(seq);
    if (a.kind === 'unavailable') throw unavailable(`transparency log unavailable: ${a.why}`);
    if (a.kind === 'pending')
      throw unavailable(
        `seq ${seq} is not in a signed checkpoint yet (the latest covers ${a.covered}); retry`,
      );
    return { status: 200, raw: a.file, contentType: TEXT } satisfies Reply;
  });

  const gzip = new BundleGzip();
  route(d, 'get', `${PATHS.logTile}/*`, { scope: 'read' }, (ctx) => {
    const tile = parseTilePath(ctx.info.url.slice(PATHS.logTile.length + 1));
    if (!tile)
      throw notFound(
        'not a tile: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], N in 3-digit groups (x001/x234/067)',
      );
    present();
    const why = t.unavailable();
    if (why) throw unavailable(`transparency log unavailable: ${why}`);
    const size = t.latestSigned()?.size ?? 0;
    if (sizeNeeded(tile) > size)
      throw notFound(
        `no such tile in the latest checkpoint (size ${size}); fetch one for a size you verified`,
      );
    if (tile.level === 'entries') {
      const first = tile.index * TILE_WIDTH;
      const rows = reader.rowsAfter(first, tile.width);
      // Retention pruned some of them: their hashes stay (hash tiles still serve), their bytes are gone.
      if (rows.length !== tile.width || rows[0]!.seq !== first + 1)
        throw notFound(`entries ${first}-${first + tile.width - 1} are no longer stored (pruned)`);
      const bundle = () => entryBundle(rows.map((r) => Buffer.from(r.body)));
      const vary = { 'Cache-Control': IMMUTABLE, Vary: 'Accept-Encoding' };
      if (!acceptsGzip(ctx.info.acceptEncoding))
        return {
          status: 200,
          raw: bundle(),
          contentType: 'application/octet-stream',
          headers: vary,
        } satisfies Reply;
      return {
        status: 200,
        raw: gzip.compress(tile.index, !tile.partial, bundle),
        contentType: 'application/octet-stream',
        headers: { ...vary, 'Content-Encoding': 'gzip' },
      } satisfies Reply;
    }
    return {
      status: 200,
      raw: readTile({ ...tile, level: tile.level }, (l, i) => t.hash(l, i)),
      contentType: 'application/octet-stream',
      headers: { 'Cache-Control': IMMUTABLE },
    } satisfies Reply;
  });

  // The proof between two checkpoints a client holds (tlog-witness sends the same lines): empty when from is 0
  // or equals to.
  route(d, 'get', PATHS.logConsistency, { scope: 'read' }, (ctx) => {
    const q = new URLSearchParams(ctx.info.query);
    const size = (k: string) => {
      const v = q.get(k) ?? '';
      if (!/^\d{1,16}$/.test(v))
        throw badRequest(`${k} must be a tree size`, [{ path: k, message: 'a non-negative integer' }]);
      return Number(v);
    };
    present();
    const a = t.consistencyAnswer(size('from'), size('to'));
    if (a.kind === 'unavailable') throw unavailable(`transparency log unavailable: ${a.why}`);
    if (a.kind === 'out_of_range')
      throw badRequest(`no consistency proof: ${a.why}`, [{ path: 'to', message: a.why }]);
    return {
      status: 200,
      raw: a.hashes.map((h) => toBase64(h) + '\n').join(''),
      contentType: TEXT,
    } satisfies Reply;
  });
}
