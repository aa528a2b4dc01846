import type { z } from 'zod';
import {
  illFormedStringPath,
  CreateKeySchema,
  ErrorCode,
  HistoryQuerySchema,
  PATHS,
  type Classification,
} from '@catalyst-signal/shared';
import { createApiKey } from '../auth/api-keys.js';
import { LAST_ADMIN_MESSAGE, wouldRevokeLastAdmin, type AdminCandidate } from '../auth/last-admin.js';
import type { Config } from '../config.js';
import {
  HttpError,
  badRequest,
  conflict,
  notFound,
  payloadTooLarge,
  unavailable,
  unsupportedMediaType,
} from '../errors.js';
import type { ServedLog } from '../log/served.js';
import { leafTooLarge } from '../log/leaf.js';
import type { KeyAdmin, LogPosition, Sequencer, SignalLogReader } from '../log/types.js';
import type { KeyStore } from '../store/keys.js';
import type { Signer } from '../signing.js';
import { parseClassification } from './classification.js';
import { registerLogRoutes } from './log-routes.js';
import { registerTrackRecordRoutes, type TrackRecordSource } from './track-record-routes.js';
import { route as registerRoute, type Method, type RouteDeps } from './route.js';
import { problemReply, send, type Reply } from './respond.js';

export interface RoutesDeps extends RouteDeps {
  config: Config;
  /** GET /v1/signals and /v1/signals/:seq exist only with a reader (a node that holds the log). */
  reader: SignalLogReader | undefined;
  /** POST /v1/signals exists only with a sequencer (a node that takes ingest). */
  sequencer: Sequencer | undefined;
  keys: KeyStore;
  /** undefined on a node that never signs (a gateway): then `jwks` says which key clients verify with. */
  signer: Signer | undefined;
  transport: string;
  /** Why the node cannot take traffic now (readyz 503), or undefined. */
  notReady: () => string | undefined;
  /** Extra /healthz fields from the log driver (a gateway's replica), if any. */
  health?: () => Record<string, unknown> | undefined;
  /** The JWKS to serve instead of the signer's (a gateway serves the cluster's). */
  jwks?: () => { keys: object[] } | undefined;
  /** Cluster mode: keys are created and revoked there (this node's table mirrors them). */
  keyAdmin?: KeyAdmin | undefined;
  /** The transparency log's checkpoints and proofs (GET /v1/log/...), signed or mirrored here. */
  transparency?: ServedLog | undefined;
  /** Outcomes for GET /v1/track-record, where this node computes them (docs/outcomes.md). */
  trackRecord?: TrackRecordSource | undefined;
}

const issuesOf = (error: z.ZodError, prefix = '') =>
  error.issues.map((i) => ({
    path:
      prefix +
      i.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, ''),
    message: i.message,
  }));

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new HttpError(400, ErrorCode.badJson, 'body is not valid JSON');
  }
}

/**
 * Deeper than any valid body (batch array > classification > meta > META_LIMITS.maxDepth levels). Checked
 * iteratively BEFORE schema validation: zod's z.json() recurses, and hostile nesting within the body limit
 * (e.g. 30k `[`) overflowed the stack and surfaced as a 500.
 */
const MAX_BODY_DEPTH = 16;

function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const isJson = (ct: string) => /^application\/json\s*(;|$)/i.test(ct);

const METHODS: readonly Method[] = ['get', 'post', 'del', 'put', 'patch'];
const METHOD_NAME: Record<Method, string> = {
  get: 'GET',
  post: 'POST',
  del: 'DELETE',
  put: 'PUT',
  patch: 'PATCH',
};

/** The REST API: one table of routes. */
export function registerRoutes(d: RoutesDeps): void {
  const c = d.config;
  // healthz reports the log as this node serves it: the reader's view where there is one.
  const position: LogPosition | undefined = d.reader ?? d.sequencer;
  if (!position) throw new Error('a server needs a log reader, a sequencer, or both');
  // Methods each path answers, so every other method gets a 405 whose Allow header says what would work.
  const allowed = new Map<string, Set<Method>>();
  const route = (...args: Parameters<typeof registerRoute>) => {
    const [, method, pattern] = args;
    const set = allowed.get(pattern) ?? new Set<Method>();
    allowed.set(pattern, set.add(method));
    registerRoute(...args);
  };

  route(d, 'get', PATHS.healthz, {}, () => ({
    status: 200,
    body: {
      status: 'ok',
      transport: d.transport,
      epoch: position.epoch,
      head_seq: position.head,
      ...d.health?.(),
      time: Date.now(),
    },
  }));

  route(d, 'get', PATHS.readyz, {}, () => {
    const why = d.notReady();
    if (why) throw unavailable(why);
    return { status: 200, body: { status: 'ok' } };
  });

  route(d, 'get', PATHS.signingKeys, {}, () => {
    const jwks = d.jwks ? d.jwks() : d.signer?.jwks;
    if (!jwks) throw unavailable('the signing key is not known yet (no ingest node has published it)');
    return { status: 200, body: jwks };
  });

  if (d.sequencer) registerIngest(d, d.sequencer, route);
  if (d.reader) registerHistory(d, d.reader, route);
  if (d.reader && d.transparency) registerLogRoutes(d, d.transparency, d.reader, route);
  if (d.reader) registerTrackRecordRoutes(d, d.trackRecord, route);

  if (c.metrics !== 'off') {
    route(d, 'get', PATHS.metrics, { scope: c.metrics === 'admin' ? 'admin' : undefined }, async () => ({
      status: 200,
      raw: await d.metrics.registry.metrics(),
      contentType: d.metrics.registry.contentType,
    }));
  }

  // Admin: key management on the running server (revocation takes effect on live sockets at once).
  route(d, 'get', PATHS.keys, { scope: 'admin' }, () => ({
    status: 200,
    body: { keys: d.keys.list().map(({ hash: _h, ...k }) => k) },
  }));
  route(d, 'post', PATHS.keys, { scope: 'admin' }, async (ctx) => {
    if (!isJson(ctx.info.contentType)) throw unsupportedMediaType();
    const r = CreateKeySchema.safeParse(parseJson(await ctx.body(4096)));
    if (!r.success) throw badRequest('invalid key request', issuesOf(r.error));
    const k = d.keyAdmin
      ? await d.keyAdmin.create(r.data.name, r.data.scopes)
      : createApiKey(d.keys, r.data.name, r.data.scopes);
    d.auth.refresh();
    return { status: 201, body: { ...k, name: r.data.name, scopes: r.data.scopes } };
  });
  route(d, 'del', `${PATHS.keys}/:id`, { scope: 'admin', params: 1 }, async (ctx) => {
    const id = ctx.info.params[0] ?? '';
    const key = d.keys.get(id);
    if (!key) throw notFound(`no key ${id}`);
    const last = (all: Iterable<AdminCandidate>) => wouldRevokeLastAdmin(all, id);
    if (d.keyAdmin) {
      // Cluster mode: this node's table mirrors the cluster's keys.
      if (last(d.keys.list())) throw conflict(LAST_ADMIN_MESSAGE(id, key.name));
      await d.keyAdmin.revoke(id);
    } else if (d.keys.revokeUnless(id, last) === 'refused') throw conflict(LAST_ADMIN_MESSAGE(id, key.name));
    d.auth.refresh();
    return { status: 204 };
  });

  for (const [path, methods] of allowed) {
    const allow = METHODS.filter((m) => methods.has(m))
      .map((m) => METHOD_NAME[m])
      .join(', ');
    for (const m of METHODS) {
      if (methods.has(m)) continue;
      // A publisher pointed at a gateway: say where ingest is rather than only which methods exist here.
      const hint = path === PATHS.signals && m === 'post' && !d.sequencer ? ingestElsewhere(c) : '';
      registerRoute(d, m, path, {}, () => methodNotAllowed(allow, hint));
    }
  }
  // Anything else: the same problem+json (and `type` scheme) as every other error.
  d.app.any('/*', (res, req) => {
    const url = req.getUrl();
    send(res, { aborted: false }, problemReply(notFound(`no route ${url}`), url));
  });
}

/** Where signals go when this node takes none (a cluster gateway). */
function ingestElsewhere(c: Config): string {
  const url = c.cluster?.ingest_url;
  return url
    ? `; this node is a cluster gateway and takes no signals: post to ${url.replace(/\/+$/, '')}${PATHS.signals}`
    : '; this node is a cluster gateway and takes no signals: post to an ingest node (serve --role ingest or both)';
}

function methodNotAllowed(allow: string, hint = ''): never {
  throw new HttpError(
    405,
    ErrorCode.methodNotAllowed,
    `method not allowed; this path answers ${allow}${hint}`,
    undefined,
    {
      Allow: allow,
    },
  );
}

type Route = (...args: Parameters<typeof registerRoute>) => void;

/** Ingest: validate every item, then hand the batch to the sequencer; 201 once it is acknowledged. */
function registerIngest(d: RoutesDeps, sequencer: Sequencer, route: Route): void {
  const c = d.config;
  route(d, 'post', PATHS.signals, { scope: 'publish' }, async (ctx) => {
    const { contentType, contentLength } = ctx.info;
    if (!isJson(contentType)) throw unsupportedMediaType();
    if (contentLength && Number(contentLength) > c.max_batch_body_bytes)
      throw payloadTooLarge(c.max_batch_body_bytes);
    const buf = await ctx.body(c.max_batch_body_bytes);
    const raw = parseJson(buf);
    if (nestedDeeperThan(raw, MAX_BODY_DEPTH))
      throw badRequest(`nested deeper than ${MAX_BODY_DEPTH} levels`);
    const batch = Array.isArray(raw);
    if (!batch && buf.length > c.max_body_bytes) throw payloadTooLarge(c.max_body_bytes);
    const list: unknown[] = batch ? raw : [raw];
    if (list.length === 0) throw badRequest('empty batch');
    if (list.length > c.max_batch)
      throw new HttpError(413, ErrorCode.payloadTooLarge, `at most ${c.max_batch} classifications per batch`);
    const items: Classification[] = [];
    const errors: { path: string; message: string }[] = [];
    list.forEach((item, i) => {
      const r = parseClassification(item);
      if (!r.success) return errors.push(...issuesOf(r.error, batch ? `[${i}].` : ''));
      // A lone surrogate (`"\ud800"`) is valid JSON but not I-JSON: RFC 8785 cannot canonicalise it, so it
      // could not be signed the way every verifier checks. Refused here, with its field, not at signing.
      const bad = illFormedStringPath(r.data);
      if (bad)
        return errors.push({ path: (batch ? `[${i}].` : '') + bad, message: 'lone surrogate: not I-JSON' });
      const tooLarge = leafTooLarge(r.data, buf.length);
      if (tooLarge && !batch) throw new HttpError(413, ErrorCode.payloadTooLarge, tooLarge);
      if (tooLarge) return errors.push({ path: `[${i}]`, message: tooLarge });
      items.push(r.data);
    });
    if (errors.length) throw badRequest(`${errors.length} invalid field(s)`, errors);
    const results = await sequencer.submit(items);
    const anyNew = results.some((r) => !r.duplicate);
    const epoch = sequencer.epoch;
    return batch
      ? { status: anyNew ? 201 : 200, body: { epoch, results } }
      : { status: anyNew ? 201 : 200, body: { ...results[0], epoch } };
  });
}

/** History: one page of stored signals, or one by seq, straight from the reader's stored JSON. */
function registerHistory(d: RoutesDeps, reader: SignalLogReader, route: Route): void {
  route(d, 'get', PATHS.signals, { scope: 'read' }, (ctx) => {
    const params: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(ctx.info.query)) {
      const prev = params[k];
      params[k] = prev === undefined ? v : ([] as string[]).concat(prev, v);
    }
    const q = HistoryQuerySchema.safeParse(params);
    if (!q.success) throw badRequest('invalid query', issuesOf(q.error));
    const { bodies, lastSeq } = reader.history(q.data);
    const head = reader.head;
    const next = bodies.length < q.data.limit ? Math.max(head, q.data.after_seq) : lastSeq;
    // Stored bodies are already JSON: splice them in rather than parse and re-serialise.
    const raw = `{"signals":[${bodies.join(',')}],"next_after_seq":${next},"head_seq":${head},"epoch":${JSON.stringify(reader.epoch)}}`;
    return { status: 200, raw } satisfies Reply;
  });

  route(d, 'get', `${PATHS.signals}/:seq`, { scope: 'read', params: 1 }, (ctx) => {
    const p = ctx.info.params[0] ?? '';
    if (!/^\d{1,16}$/.test(p) || Number(p) < 1)
      throw badRequest('seq must be a positive integer', [{ path: 'seq', message: 'a positive integer' }]);
    const json = reader.getJson(Number(p));
    if (json === undefined) throw notFound(`no signal with seq ${p}`);
    return { status: 200, raw: json };
  });
}
