import { HistoryResponseSchema, PATHS, type HistoryResponse } from '@catalyst-signal/shared';

/** Small REST client for the signal server (global fetch, timeouts, problem+json errors surfaced). */

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

export interface ServerHttp {
  baseUrl: string;
  key?: string | undefined;
  timeoutMs?: number | undefined;
}

/** A 429 or 503 with Retry-After: wait and try again, a bounded number of times (history paging hits 429). */
const MAX_RETRIES = 5;
const MAX_RETRY_WAIT_MS = 60_000;

async function request(
  s: ServerHttp,
  path: string,
  auth: boolean,
): Promise<{ body: unknown; date: string | null; receivedAt: number; sentAt: number }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth && s.key) headers['authorization'] = `Bearer ${s.key}`;
  let sentAt = Date.now();
  let res = await fetch(new URL(path, s.baseUrl), {
    headers,
    signal: AbortSignal.timeout(s.timeoutMs ?? 10_000),
  });
  // Only when the server says how long to wait (our server always does on 429/503); otherwise the caller decides.
  for (let attempt = 1; (res.status === 429 || res.status === 503) && attempt <= MAX_RETRIES; attempt++) {
    const after = Number(res.headers.get('retry-after') ?? NaN);
    if (!Number.isFinite(after) || after < 0) break;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, Math.min(MAX_RETRY_WAIT_MS, after * 1000)));
    sentAt = Date.now();
    res = await fetch(new URL(path, s.baseUrl), {
      headers,
      signal: AbortSignal.timeout(s.timeoutMs ?? 10_000),
    });
  }
  const receivedAt = Date.now();
  const text = await res.text();
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
      `${path}: HTTP ${res.status} ${p?.detail ?? p?.title ?? text.slice(0, 200)}`,
    );
  }
  return { body, date: res.headers.get('date'), receivedAt, sentAt };
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
  limit = 1000,
  extra: Record<string, string> = {},
): Promise<HistoryResponse> {
  const q = new URLSearchParams({ after_seq: String(afterSeq), limit: String(limit), ...extra });
  const r = await request(s, `${PATHS.signals}?${q.toString()}`, true);
  return HistoryResponseSchema.parse(r.body);
}

export function streamUrl(baseUrl: string): string {
  const u = new URL(PATHS.stream, baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
