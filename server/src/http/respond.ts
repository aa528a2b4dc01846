import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { ErrorCode } from '@catalyst-signal/shared';
import { HttpError, StoreUnavailableError, payloadTooLarge } from '../errors.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Content Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Content too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Service unavailable',
};

/** What a handler needs from the request, copied out synchronously (uWS's HttpRequest dies at first await). */
export interface RequestInfo {
  method: string;
  url: string;
  query: string;
  authorization: string;
  contentType: string;
  contentLength: string;
  /** Accept-Encoding, for the one answer served compressed (the log's entry bundles, http/gzip.ts). */
  acceptEncoding: string;
  ip: string;
  params: string[];
  /** Which of Authorization and Content-Type came more than once (either is refused). */
  duplicated: Set<string>;
}

/** The headers whose duplicates are refused; only these are counted, the rest pass by uncollected. */
const SINGLE_HEADERS = ['authorization', 'content-type'] as const;
const text = new TextDecoder();

export function readRequestInfo(req: HttpRequest, res: HttpResponse, paramCount: number): RequestInfo {
  const duplicated = new Set<string>();
  let auth = 0;
  let type = 0;
  req.forEach((k) => {
    if (k === SINGLE_HEADERS[0]) auth++;
    else if (k === SINGLE_HEADERS[1]) type++;
  });
  if (auth > 1) duplicated.add(SINGLE_HEADERS[0]);
  if (type > 1) duplicated.add(SINGLE_HEADERS[1]);
  const params: string[] = [];
  for (let i = 0; i < paramCount; i++) params.push(req.getParameter(i));
  return {
    method: req.getMethod(),
    url: req.getUrl(),
    query: req.getQuery() ?? '',
    authorization: req.getHeader('authorization'),
    contentType: req.getHeader('content-type'),
    contentLength: req.getHeader('content-length'),
    acceptEncoding: req.getHeader('accept-encoding'),
    ip: text.decode(res.getRemoteAddressAsText()),
    params,
    duplicated,
  };
}

/** Per-response state: uWS forbids touching a response after it was aborted. */
export interface ResState {
  aborted: boolean;
  /** Called by the route wrapper when the client goes away mid-request. */
  onAbort?: () => void;
}

/** Read the whole body, refusing (413) as soon as it passes `limit` bytes. */
export function readBody(res: HttpResponse, state: ResState, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((ab, isLast) => {
      if (done) return;
      size += ab.byteLength;
      if (size > limit) {
        done = true;
        reject(payloadTooLarge(limit));
        return;
      }
      // uWS reuses the ArrayBuffer after this callback returns: copy (once: a body in one chunk, the usual
      // signal, is that copy itself rather than a concat of it).
      const chunk = Buffer.from(ab.slice(0));
      if (isLast && chunks.length === 0) {
        done = true;
        resolve(chunk);
        return;
      }
      chunks.push(chunk);
      if (isLast) {
        done = true;
        resolve(Buffer.concat(chunks, size));
      }
    });
    state.onAbort = () => {
      if (!done) reject(new Error('aborted'));
    };
  });
}

/**
 * Headers on every answer that is not the status page (which has its own, PAGE_HEADERS): JSON and metrics are
 * never to be sniffed into HTML, run, framed or referred from; a browser that opens one renders nothing active.
 */
export const API_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

const DEFAULT_HEADERS: readonly (readonly [string, string])[] = Object.entries({
  'Cache-Control': 'no-store',
  ...API_HEADERS,
});

export interface Reply {
  status: number;
  /** A JSON string (already serialised) or a value to serialise. */
  body?: unknown;
  /** The body as is: text, or bytes (the log's tiles). */
  raw?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

export function send(res: HttpResponse, state: ResState, reply: Reply, closeConnection = false): void {
  if (state.aborted) return;
  const body = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[reply.status] ?? String(reply.status));
    res.writeHeader('Content-Type', reply.contentType ?? 'application/json');
    // A reply's own value (the status page's CSP) replaces the default instead of doubling it. No merged
    // dictionary per reply: building one was a visible share of the ingest hot path.
    const own = reply.headers;
    for (const [k, v] of DEFAULT_HEADERS)
      if (own === undefined || !Object.hasOwn(own, k)) res.writeHeader(k, v);
    if (own !== undefined) for (const k in own) res.writeHeader(k, own[k]!);
    res.end(body, closeConnection);
  });
  state.aborted = true; // answered: nothing may touch it again
}

/** RFC 9457 problem+json for any error; unknown errors become a 500 without internals. */
export function problemReply(err: unknown, instance: string): Reply {
  let e: HttpError;
  if (err instanceof HttpError) e = err;
  else if (err instanceof StoreUnavailableError)
    e = new HttpError(503, ErrorCode.unavailable, err.message, undefined, { 'Retry-After': '1' });
  else e = new HttpError(500, ErrorCode.internal, 'internal error');
  return {
    status: e.status,
    contentType: 'application/problem+json',
    headers: e.headers,
    body: {
      type: `https://catalyst.invalid/problems/${e.code}`,
      title: TITLES[e.status] ?? 'Error',
      status: e.status,
      detail: e.message,
      code: e.code,
      instance,
      ...(e.errors ? { errors: e.errors } : {}),
    },
  };
}
