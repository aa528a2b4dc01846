/**
 * The dashboard token arrives in the URL FRAGMENT (#token=...), which browsers never send to a server or put
 * in a Referer. It is moved to sessionStorage (this tab only, gone when it closes) and the fragment is
 * cleared at once, so it does not stay in the address bar, history or a screenshot.
 */
const KEY = 'catalyst-dashboard-token';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function takeToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    const t = decodeURIComponent(m[1] ?? '');
    if (TOKEN.test(t)) sessionStorage.setItem(KEY, t);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const stored = sessionStorage.getItem(KEY) ?? undefined;
  return stored !== undefined && TOKEN.test(stored) ? stored : undefined;
}

export function storeToken(t: string): void {
  sessionStorage.setItem(KEY, t);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
