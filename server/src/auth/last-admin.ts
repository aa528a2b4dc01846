/** What deciding "is this the last admin key" needs of a key, wherever it is stored (SQLite or the cluster). */
export interface AdminCandidate {
  id: string;
  scopes: readonly string[];
  revoked_at: string | null;
  expires_at: string | null;
}

const usableAdmin = (k: AdminCandidate, now: number) =>
  k.scopes.includes('admin') &&
  k.revoked_at === null &&
  (k.expires_at === null || Date.parse(k.expires_at) > now);

/**
 * Whether revoking `id` would leave no admin key that still works (not revoked, not expired). Refused by the
 * REST API and the CLI: without an admin key nobody can manage keys over HTTP or open the status page, and
 * the way back (`keys create --scope admin` on the server's machine) is not the one a first start takes.
 */
export function wouldRevokeLastAdmin(keys: Iterable<AdminCandidate>, id: string, now = Date.now()): boolean {
  let target: AdminCandidate | undefined;
  let others = 0;
  for (const k of keys) {
    if (k.id === id) target = k;
    else if (usableAdmin(k, now)) others++;
  }
  return target !== undefined && usableAdmin(target, now) && others === 0;
}

export const LAST_ADMIN_MESSAGE = (id: string, name: string) =>
  `key ${id} (${name}) is the last admin key: create another admin key first (keys create --scope admin), then revoke this one`;
