/**
 * One HTTP POST to a notification service and what it means for delivery: sent, retry (network, 408, 429, 5xx;
 * with the service's retry_after when it gives one), or give up (any other 4xx: resending the same request
 * cannot succeed). Errors carry the status and a bounded body excerpt; the caller redacts them.
 */

export type SendOutcome =
  { ok: true } | { ok: false; retry: boolean; retryAfterMs?: number | undefined; error: string };

export const REQUEST_TIMEOUT_MS = 10_000;

export interface PostResult {
  status: number;
  headers: Headers;
  body: string;
}

/** Seconds (Retry-After header, or a JSON field such as Discord's retry_after) -> ms, bounded to an hour. */
export function secondsToMs(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.min(n * 1000, 3_600_000) : undefined;
}

export async function post(
  url: string,
  init: { headers: Record<string, string>; body: string },
  signal?: AbortSignal,
): Promise<PostResult | { error: string }> {
  try {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const res = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const body = (await res.text()).slice(0, 2000);
    return { status: res.status, headers: res.headers, body };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer in ${REQUEST_TIMEOUT_MS} ms` : err.message;
    return { error: err.cause?.code ? `${why} (${err.cause.code})` : why };
  }
}

/** The usual mapping; `retryAfterMs` lets a service read its own 429 body. */
export function outcomeOf(
  r: PostResult | { error: string },
  retryAfterMs?: (r: PostResult) => number | undefined,
): SendOutcome {
  if ('error' in r) return { ok: false, retry: true, error: r.error };
  if (r.status >= 200 && r.status < 300) return { ok: true };
  const excerpt = r.body.replace(/\s+/g, ' ').trim().slice(0, 300);
  const error = `HTTP ${r.status}${excerpt ? `: ${excerpt}` : ''}`;
  if (r.status === 429 || r.status === 408 || r.status >= 500)
    return {
      ok: false,
      retry: true,
      error,
      retryAfterMs: retryAfterMs?.(r) ?? secondsToMs(r.headers.get('retry-after')),
    };
  return { ok: false, retry: false, error };
}
