/**
 * The admin key lives in sessionStorage only: gone when the tab closes, never in localStorage, a cookie or a
 * URL (so it is in no history, bookmark, referrer or server log). A page script can read it, which is why the
 * page runs under a CSP that allows only its own scripts (docs/security.md).
 */
const ITEM = 'catalyst.status.admin_key';

export const adminKey = {
  get(): string | undefined {
    try {
      return sessionStorage.getItem(ITEM) ?? undefined;
    } catch {
      return undefined; // storage disabled: the operator logs in again on reload
    }
  },
  set(key: string): void {
    try {
      sessionStorage.setItem(ITEM, key);
    } catch {
      /* storage disabled: the key lives only in this page's memory */
    }
  },
  clear(): void {
    try {
      sessionStorage.removeItem(ITEM);
    } catch {
      /* nothing stored */
    }
  },
};
