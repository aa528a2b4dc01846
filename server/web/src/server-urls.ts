import { PATHS } from '@catalyst-signal/shared';

/**
 * The server's URLs relative to the page (served at <base>/status/), so the page works the same behind a
 * proxy that mounts the server under a prefix: <base>/v1/... and ws(s)://<host><base>/v1/stream.
 */
export function serverUrl(path: string, page: string = location.href): URL {
  return new URL(`..${path}`, page);
}

export function streamUrl(page: string = location.href): string {
  const u = serverUrl(PATHS.stream, page);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
