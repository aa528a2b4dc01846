import { PATHS, TrackRecordQuerySchema } from '@catalyst-signal/shared';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import type { Config } from '../config.js';
import { badRequest, notFound } from '../errors.js';
import { indexOutcomes } from '../outcomes/aggregate.js';
import { buildTrackRecord } from '../outcomes/track-record.js';
import type { OutcomeDb } from '../store/outcome-db.js';
import type { route as registerRoute, RouteDeps } from './route.js';

type Route = (...args: Parameters<typeof registerRoute>) => void;

/** Where the track record is read from: the outcome store (see docs/outcomes.md). */
export type TrackRecordSource = Pick<OutcomeDb, 'facets' | 'outcomesBetween'>;

/**
 * GET /v1/track-record (read scope): outcomes aggregated over the signals the query selects, and the latest
 * ones' stories. Without a source (no `outcomes` block in the config) the path says so instead of a bare 404.
 */
export function registerTrackRecordRoutes(
  d: RouteDeps & { config: Config },
  source: TrackRecordSource | undefined,
  route: Route,
) {
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
        d.config.cluster
          ? 'outcomes are not computed in cluster mode yet (docs/outcomes.md, "Cluster mode")'
          : 'this server computes no outcomes: add an outcomes block to its config (docs/outcomes.md)',
      );
    const facets = source.facets(q.data);
    const outcomes =
      facets.length === 0
        ? new Map()
        : indexOutcomes(source.outcomesBetween(facets[0]!.seq, facets[facets.length - 1]!.seq));
    return {
      status: 200,
      body: buildTrackRecord(facets, outcomes, HORIZONS, q.data.stories, Date.now()),
      headers: { 'Cache-Control': 'no-store' },
    };
  });
}
