import { PATHS, TrackRecordQuerySchema, type TrackRecord } from '@catalyst-signal/shared';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import type { Config } from '../config.js';
import { badRequest, notFound } from '../errors.js';
import { outcomeColumns } from '../outcomes/aggregate.js';
import { buildTrackRecord } from '../outcomes/track-record.js';
import type { OutcomeDb } from '../store/outcome-db.js';
import type { route as registerRoute, RouteDeps } from './route.js';

type Route = (...args: Parameters<typeof registerRoute>) => void;

/** Where the track record is read from: the outcome store (see docs/outcomes.md). */
export type TrackRecordSource = Pick<OutcomeDb, 'facets' | 'figuresBetween' | 'outcomes' | 'version'>;

/**
 * Track records kept per query (the page asks again and again for the same one), until the outcomes change and
 * the entry is a minute old: computing one is synchronous, on the event loop the stream shares (about 2 s of
 * CPU for a year of signals on a busy 2-core machine: docs/outcomes.md), so it happens at most once a minute
 * per query, however often the worker stores figures. Outcomes come 15 minutes after a horizon anyway.
 */
const CACHE_SIZE = 16;
const FRESH_MS = 60_000;

/**
 * GET /v1/track-record (read scope): outcomes aggregated over the signals the query selects, and the latest
 * ones' stories. Without a source (no `outcomes` block in the config) the path says so instead of a bare 404.
 */
export function registerTrackRecordRoutes(
  d: RouteDeps & { config: Config },
  source: TrackRecordSource | undefined,
  route: Route,
) {
  const cache = new Map<string, { version: number; at: number; body: TrackRecord }>();
  route(d, 'get', PATHS.trackRecord, { scope: 'read' }, (ctx) => {
    const params: Record<string, string> = {};
    const errors: { path: string; message: string }[] = [];
    for (const [k, v] of new URLSearchParams(ctx.info.query)) {
      if (k in params) errors.push({ path: k, message: 'given more than once' });
      params[k] = v;
    }
    if (errors.length) throw badRequest('invalid query', errors);
    const q = TrackRecordQuerySchema.safeParse(params);
    if (!q.success)
      throw badRequest(
        'invalid query',
        q.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      );
    if (!source)
      throw notFound(
        'this server computes no outcomes: add an outcomes block to its config (docs/outcomes.md)',
      );
    const key = JSON.stringify(q.data);
    const hit = cache.get(key);
    const now = Date.now();
    let body = hit && (hit.version === source.version || now - hit.at < FRESH_MS) ? hit.body : undefined;
    if (!body) {
      const version = source.version;
      const facets = source.facets(q.data);
      const names = HORIZONS.map((h) => h.name);
      const rows = facets.length ? source.figuresBetween(facets[0]!.seq, facets[facets.length - 1]!.seq) : [];
      const columns = outcomeColumns(facets, rows, names);
      body = buildTrackRecord(facets, columns, HORIZONS, q.data.stories, now, (seq) => source.outcomes(seq));
      cache.delete(key);
      cache.set(key, { version, at: now, body });
      if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
  });
}
