import { PATHS, TrackRecordSchema, type TrackRecord } from '@catalyst-signal/shared';
import { serverUrl } from '../server-urls.js';

export type Fetched = { ok: true; record: TrackRecord } | { ok: false; message: string; logout: boolean };

/** The page's filters, sent as GET /v1/track-record's query (empty ones left out). */
export interface Filters {
  from: string;
  to: string;
  symbol: string;
  catalyst: string;
  action: string;
}

export const NO_FILTERS: Filters = { from: '', to: '', symbol: '', catalyst: '', action: '' };

/**
 * One GET of the track record with the read key (a header, never the URL), validated by the wire schema, with
 * the server's reason in words for anything but a 200.
 */
export async function fetchTrackRecord(key: string, filters: Filters): Promise<Fetched> {
  const url = serverUrl(PATHS.trackRecord);
  for (const [k, v] of Object.entries(filters)) if (v.trim()) url.searchParams.set(k, v.trim());
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${key}` },
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { ok: false, message: 'Cannot reach the server.', logout: false };
  }
  if (res.status === 401)
    return { ok: false, message: 'That key was not accepted: unknown, revoked or expired.', logout: true };
  if (res.status === 403)
    return {
      ok: false,
      message: 'That key has no read scope. The track record needs a read key.',
      logout: true,
    };
  if (res.status === 429) {
    const s = Number(res.headers.get('retry-after') ?? '60');
    return {
      ok: false,
      message: `Too many requests. Try again in ${Number.isFinite(s) ? s : 60} s.`,
      logout: true,
    };
  }
  if (!res.ok) {
    let detail = `The server answered ${res.status}.`;
    try {
      const p = (await res.json()) as { detail?: unknown };
      if (typeof p.detail === 'string') detail = `The server answered ${res.status}: ${p.detail}`;
    } catch {
      /* not problem+json */
    }
    return { ok: false, message: detail, logout: false };
  }
  const parsed = TrackRecordSchema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success)
    return { ok: false, message: 'The server sent a track record this page cannot read.', logout: false };
  return { ok: true, record: parsed.data };
}
