import { PATHS } from '@catalyst-signal/shared';
import { serverUrl } from './server-urls.js';

export type KeyCheck = { ok: true } | { ok: false; message: string };

/**
 * Is this an admin key? Asked over REST before the WebSocket opens, because a browser hides why an upgrade
 * failed (a 401, 403 or 429 all look like "closed 1006"), and the operator deserves the reason. The server
 * decides exactly as for any request (auth/admission.ts: the per-address failure gate, the key, the scope).
 */
export async function checkAdminKey(key: string): Promise<KeyCheck> {
  let res: Response;
  try {
    res = await fetch(serverUrl(PATHS.keys), {
      headers: { authorization: `Bearer ${key}` },
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { ok: false, message: 'Cannot reach the server.' };
  }
  if (res.ok) return { ok: true };
  if (res.status === 401)
    return { ok: false, message: 'That key was not accepted: unknown, revoked or expired.' };
  if (res.status === 403)
    return { ok: false, message: 'That key has no admin scope. The status page needs an admin key.' };
  if (res.status === 429) {
    const s = Number(res.headers.get('retry-after') ?? '60');
    return {
      ok: false,
      message: `Too many failed attempts from this address. Try again in ${Number.isFinite(s) ? s : 60} s.`,
    };
  }
  return { ok: false, message: `The server answered ${res.status}.` };
}
