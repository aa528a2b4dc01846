import { z } from 'zod';
import {
  HistoryResponseSchema,
  PATHS,
  SignalSchema,
  TrackRecordSchema,
  type HistoryResponse,
  type TrackRecord,
  type Signal,
} from '@catalyst-signal/shared';
import { formatDuration } from './decide/time-text.js';
import { HISTORY_PAGE_SIZE, REST_MAX_BODY_BYTES, historyMaxBodyBytes } from './limits.js';
import { netReason } from './net-error.js';

/**
 * Small REST client for the signal server (global fetch, timeouts, problem+json errors surfaced). Every error
 * names the URL and the reason, so "check" and "run" can say what is wrong without a debugger.
 */

/** The request never got an HTTP answer: refused, DNS, TLS, timeout. */
export class NetworkError extends Error {
  override name = 'NetworkError';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`${url}: ${reason}`);
  }
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The server answered with more than the client will hold (client/src/limits.ts): refused as soon as the
 * Content-Length says so, else once that many bytes arrived; the connection is dropped, the rest never read.
 */
export class ResponseTooLarge extends Error {
  override name = 'ResponseTooLarge';
  constructor(
    readonly url: string,
    readonly maxBytes: number,
    declared?: number,
  ) {
    super(
      `response over ${maxBytes} bytes from ${url}${declared !== undefined ? ` (Content-Length ${declared})` : ''}`,
    );
  }
}

/**
 * A history page whose signal at `seq` is not a valid signal (a signed `meta` over its bound): the signals
 * before it are valid and kept in `page`, so the stream can apply them and then refuse that seq by number.
 */
export class InvalidHistorySignal extends Error {
  override name = 'InvalidHistorySignal';
  constructor(
    readonly url: string,
    readonly baseUrl: string,
    readonly seq: number,
    readonly why: string,
    readonly page: HistoryResponse,
  ) {
    super(`${url}: signal seq ${seq} is not a valid signal (${why})`);
  }
}

const HistoryEnvelopeSchema = HistoryResponseSchema.extend({ signals: z.array(z.unknown()) });

export interface ServerHttp {
  baseUrl: string;
  key?: string | undefined;
  timeoutMs?: number | undefined;
  /** Another gateway can be asked: a 503 is not waited out here (Retry-After), the caller moves on. */
  failFast?: boolean | undefined;
  /** Aborts the request, its body read and any Retry-After wait (the client shutting down). */
  signal?: AbortSignal | undefined;
}

/** Every server of the list failed; the message names each URL and why. */
export class AllServersFailed extends Error {
  override name = 'AllServersFailed';
  constructor(readonly errors: unknown[]) {
    super(errors.map((e) => (e as Error).message ?? String(e)).join('; '));
  }
}

/**
 * Whether another gateway might answer: no HTTP answer at all, a 5xx, or a body too large to be genuine (that
 * gateway is broken or hostile). A 4xx is the answer (key, request).
 */
export function worthFailover(e: unknown): boolean {
  return (
    e instanceof NetworkError || e instanceof ResponseTooLarge || (e instanceof HttpError && e.status >= 500)
  );
}

/**
 * Ask each base URL in turn (the gateways of one cluster serve the same log), moving on only when another
 * might answer. One URL: its error as it is. Several, all failed: AllServersFailed naming each.
 */
export async function failover<T>(
  baseUrls: readonly string[],
  fn: (baseUrl: string, failFast: boolean) => Promise<T>,
): Promise<T> {
  const errors: unknown[] = [];
  for (let i = 0; i < baseUrls.length; i++) {
    try {
      return await fn(baseUrls[i]!, i < baseUrls.length - 1);
    } catch (e) {
      if (!worthFailover(e)) throw e;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  throw new AllServersFailed(errors);
}

/** The list starting at `first` (the gateway in use), then the others in their order. */
export function startingAt(baseUrls: readonly string[], first: string): string[] {
  const i = baseUrls.indexOf(first);
  return i <= 0 ? [...baseUrls] : [...baseUrls.slice(i), ...baseUrls.slice(0, i)];
}

/** A 429 or 503 with Retry-After: wait and try again, a bounded number of times (history paging hits 429). */
const MAX_RETRIES = 5;
const MAX_RETRY_WAIT_MS = 60_000;

/**
 * The body as text, at most maxBytes of it: a declared Content-Length over it is refused before reading, a
 * body without one (chunked) or longer than declared is counted as it arrives and the read cancelled (which
 * drops the connection) at the first byte over. Never more than maxBytes plus one chunk is held.
 */
async function readCapped(res: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new ResponseTooLarge(url, maxBytes, declared);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new NetworkError(url, `response body: ${netReason(e)}`);
    }
    if (chunk.done) break;
    size += chunk.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLarge(url, maxBytes);
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks, size);
}

function abortableWait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function request(
  s: ServerHttp,
  path: string,
  auth: boolean,
  maxBytes = REST_MAX_BODY_BYTES,
  binary = false,
): Promise<{ url: string; body: unknown; date: string | null; receivedAt: number; sentAt: number }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth && s.key) headers['authorization'] = `Bearer ${s.key}`;
  const url = new URL(path, s.baseUrl).toString();
  const timeoutMs = s.timeoutMs ?? 10_000;
  const get = async () => {
    try {
      // The signal covers the body read too: a server trickling its body is cut off by either.
      const timeout = AbortSignal.timeout(timeoutMs);
      // redirect 'manual': a redirect is refused below, never followed (the key would go to wherever it points).
      return await fetch(url, {
        headers,
        redirect: 'manual',
        signal: s.signal ? AbortSignal.any([timeout, s.signal]) : timeout,
      });
    } catch (e) {
      if (s.signal?.aborted) throw new NetworkError(url, 'aborted: the client is stopping');
      const reason = netReason(e);
      throw new NetworkError(
        url,
        reason === 'timed out' ? `no answer within ${formatDuration(timeoutMs)}` : reason,
      );
    }
  };
  let sentAt = Date.now();
  let res = await get();
  // Only when the server says how long to wait (our server always does on 429/503); otherwise the caller decides.
  for (
    let attempt = 1;
    (res.status === 429 || (res.status === 503 && !s.failFast)) && attempt <= MAX_RETRIES;
    attempt++
  ) {
    const after = Number(res.headers.get('retry-after') ?? NaN);
    if (!Number.isFinite(after) || after < 0) break;
    await res.body?.cancel();
    await abortableWait(Math.min(MAX_RETRY_WAIT_MS, after * 1000), s.signal);
    if (s.signal?.aborted) throw new NetworkError(url, 'aborted: the client is stopping');
    sentAt = Date.now();
    res = await get();
  }
  const receivedAt = Date.now();
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => undefined);
    const to = res.headers.get('location');
    throw new HttpError(
      res.status,
      'redirect',
      `${url}: HTTP ${res.status} redirect${to ? ` to ${to.slice(0, 200)}` : ''} refused; set server.url to the address that answers`,
    );
  }
  const bytes = await readCapped(res, url, maxBytes);
  if (binary && res.ok)
    return { url, body: new Uint8Array(bytes), date: res.headers.get('date'), receivedAt, sentAt };
  // As res.text() decodes: UTF-8, a leading BOM dropped, invalid bytes replaced.
  const text = new TextDecoder().decode(bytes);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text for the error message */
  }
  if (!res.ok) {
    const p = body as { code?: string; title?: string; detail?: string };
    throw new HttpError(
      res.status,
      p?.code ?? String(res.status),
      `${url}: HTTP ${res.status} ${p?.detail ?? p?.title ?? text.slice(0, 200)}`,
    );
  }
  return { url, body, date: res.headers.get('date'), receivedAt, sentAt };
}

export async function fetchJwks(s: ServerHttp): Promise<unknown> {
  return (await request(s, PATHS.signingKeys, false)).body;
}

export async function fetchHealth(
  s: ServerHttp,
): Promise<{ body: Record<string, unknown>; skewMs: number | undefined }> {
  const r = await request(s, PATHS.healthz, false);
  const mid = (r.sentAt + r.receivedAt) / 2;
  // The server's millisecond clock in the body when it has one; else the Date header (1 s resolution).
  const serverTime = (r.body as { time?: unknown })?.time;
  const skew =
    typeof serverTime === 'number' ? serverTime - mid : r.date ? Date.parse(r.date) + 500 - mid : undefined;
  return { body: r.body as Record<string, unknown>, skewMs: Number.isFinite(skew) ? skew : undefined };
}

export async function fetchHistory(
  s: ServerHttp,
  afterSeq: number,
  limit = HISTORY_PAGE_SIZE,
  extra: Record<string, string> = {},
): Promise<HistoryResponse> {
  const q = new URLSearchParams({ after_seq: String(afterSeq), limit: String(limit), ...extra });
  const r = await request(s, `${PATHS.signals}?${q.toString()}`, true, historyMaxBodyBytes(limit));
  const page = HistoryResponseSchema.safeParse(r.body);
  if (page.success) return page.data;
  // A well-formed page with one invalid signal: say which seq, keeping the valid ones before it.
  const envelope = HistoryEnvelopeSchema.safeParse(r.body);
  if (envelope.success) {
    const valid: Signal[] = [];
    for (const raw of envelope.data.signals) {
      const one = SignalSchema.safeParse(raw);
      const seq = (raw as { seq?: unknown } | null)?.seq;
      if (one.success) valid.push(one.data as Signal);
      else if (Number.isSafeInteger(seq) && (seq as number) >= 1) {
        const why = z.prettifyError(one.error).replace(/\s+/g, ' ');
        throw new InvalidHistorySignal(r.url, s.baseUrl, seq as number, why, {
          ...envelope.data,
          signals: valid,
        });
      } else break;
    }
  }
  const i = page.error.issues[0];
  throw new Error(
    `${r.url}: not a history page (${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'})`,
  );
}

export function streamUrl(baseUrl: string): string {
  const u = new URL(PATHS.stream, baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/**
 * A transparency-log answer (checkpoint, tlog-proof, consistency lines): text, never JSON. failFast-style: a 503
 * (no checkpoint covering the seq yet) is the caller's to wait out, within its own bound.
 */
export async function fetchLogText(s: ServerHttp, path: string): Promise<string> {
  const r = await request({ ...s, failFast: true }, path, true);
  if (typeof r.body !== 'string') throw new Error(`${r.url}: not a text answer`);
  return r.body;
}

/** A transparency-log tile (hash tile or entry bundle): bytes, at most a full tile's worth. */
export async function fetchLogBytes(s: ServerHttp, path: string, maxBytes: number): Promise<Uint8Array> {
  const r = await request({ ...s, failFast: true }, path, true, maxBytes, true);
  if (!(r.body instanceof Uint8Array)) throw new Error(`${r.url}: not a binary answer`);
  return r.body;
}

/** GET /v1/track-record (read scope) with these filters, validated: what `track-record verify` compares with. */
export async function fetchTrackRecord(s: ServerHttp, query: Record<string, string>): Promise<TrackRecord> {
  const r = await request(s, `${PATHS.trackRecord}?${new URLSearchParams(query).toString()}`, true);
  const tr = TrackRecordSchema.safeParse(r.body);
  if (tr.success) return tr.data;
  const i = tr.error.issues[0];
  throw new Error(
    `${r.url}: not a track record (${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'})`,
  );
}
