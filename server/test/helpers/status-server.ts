import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Stand-ins for a sick gateway, on 127.0.0.1 port 0: `answering(503)` answers every request with that status
 * (a 503 with Retry-After, as the real server sends), counting requests; `refusedUrl()` is a port nobody
 * listens on. For failover tests of clients that take several server URLs.
 */
export async function answering(
  status: number,
  retryAfterS = 3,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let n = 0;
  const s: Server = createServer((_req, res) => {
    n++;
    res.writeHead(status, {
      'content-type': 'application/problem+json',
      ...(status === 503 ? { 'retry-after': String(retryAfterS) } : {}),
    });
    res.end(JSON.stringify({ code: 'unavailable', title: `status ${status}`, status }));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    hits: () => n,
    close: () => new Promise((r) => s.close(() => r())),
  };
}

export async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise((r) => s.close(r));
  return url;
}
