import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Scope } from '@catalyst-signal/shared';
import { admit } from '../auth/admission.js';
import { bearerToken, type Authenticator, type Principal } from '../auth/authenticator.js';
import { HttpError, forbidden, tooManyRequests, unauthenticated } from '../errors.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import {
  problemReply,
  readBody,
  readRequestInfo,
  send,
  type Reply,
  type RequestInfo,
  type ResState,
} from './respond.js';

export interface Ctx {
  info: RequestInfo;
  principal: Principal | undefined;
  /** Rate-limit headers to add to the reply. */
  headers: Record<string, string>;
  body(limit: number): Promise<Buffer>;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface RouteDeps {
  app: TemplatedApp;
  auth: Authenticator;
  limits: Limits;
  metrics: Metrics;
  log: Logger;
}

export type Method = 'get' | 'post' | 'del' | 'put' | 'patch';

/**
 * Register one route: copy what is needed from the request, authenticate (scope), rate-limit per
 * principal, run the handler, and answer — errors of any kind become problem+json here and nowhere else.
 */
export function route(
  d: RouteDeps,
  method: Method,
  pattern: string,
  opts: { scope?: Scope | undefined; params?: number },
  handler: Handler,
): void {
  d.app[method](pattern, (res: HttpResponse, req) => {
    const info = readRequestInfo(req, res, opts.params ?? 0);
    const state: ResState = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
      state.onAbort?.();
    });
    const ctx: Ctx = {
      info,
      principal: undefined,
      headers: {},
      body: (limit) => readBody(res, state, limit),
    };
    run(d, opts.scope, ctx, handler).then(
      (reply) => send(res, state, withHeaders(reply, ctx.headers)),
      (err: unknown) => {
        if (!(err instanceof HttpError)) d.log.error({ err, url: info.url }, 'request failed');
        const reply = problemReply(err, info.url);
        // A body we refused to read (413) cannot be left on the connection: close it.
        send(res, state, withHeaders(reply, ctx.headers), err instanceof HttpError && err.status === 413);
      },
    );
  });
}

/** The reply with the rate-limit headers added under its own (no copy when there are none, as with limits off). */
function withHeaders(reply: Reply, extra: Record<string, string>): Reply {
  for (const _ in extra) return { ...reply, headers: { ...extra, ...reply.headers } };
  return reply;
}

async function run(d: RouteDeps, scope: Scope | undefined, ctx: Ctx, handler: Handler): Promise<Reply> {
  if (ctx.info.duplicated.has('authorization') || ctx.info.duplicated.has('content-type')) {
    throw new HttpError(400, 'validation_failed', 'duplicated Authorization or Content-Type header');
  }
  if (scope) ctx.principal = await authorize(d, ctx.info, scope, ctx.headers);
  return handler(ctx);
}

async function authorize(
  d: RouteDeps,
  info: RequestInfo,
  scope: Scope,
  headers: Record<string, string>,
): Promise<Principal> {
  const a = await admit(
    { auth: d.auth, authFailures: d.limits.authFailures, metrics: d.metrics },
    { token: bearerToken(info.authorization), ip: info.ip, scope, transport: 'rest' },
  );
  if (!a.ok) {
    if (a.status === 429) throw tooManyRequests(a.retryAfterMs ?? 1000);
    if (a.status === 403) throw forbidden(a.message);
    throw unauthenticated();
  }
  const p = a.principal;
  const limit =
    p.scopes.includes('publish') || p.scopes.includes('admin') ? d.limits.restPublish : d.limits.restRead;
  const decision = await limit.consume(p.id);
  Object.assign(headers, decision.headers);
  if (!decision.ok) {
    d.metrics.rateLimited.inc({ kind: limit.kind });
    throw tooManyRequests(decision.retryAfterMs, decision.headers);
  }
  return p;
}
