/**
 * The admin key lives in sessionStorage only: gone when the tab closes, never in localStorage, a cookie or a
 * URL (so it is in no history, bookmark, referrer or server log). A page script can read it, which is why the
 * page runs under a CSP that allows only its own scripts (docs/security.md).
 */
export const adminKey = sessionKey('catalyst.status.admin_key');

/** The same for another page's key (the track record's read key is its own item). */
export function sessionKey(item: string) {
  return {
    get(): string | undefined {
      try {
        return sessionStorage.getItem(item) ?? undefined;
      } catch {
        return undefined; // storage disabled: the operator logs in again on reload
      }
    },
    set(key: string): void {
      try {
        sessionStorage.setItem(item, key);
      } catch {
        /* storage disabled: the key lives only in this page's memory */
      }
    },
    clear(): void {
      try {
        sessionStorage.removeItem(item);
      } catch {
        /* nothing stored */
      }
    },
  };
}
