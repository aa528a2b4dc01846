import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError, fetchHistory, fetchJwks } from '../src/http.js';

// The REST client refuses a redirect instead of following it: following would send the read key (and trust
// the answer) to wherever a hostile or misconfigured server points, another host included.

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe('REST redirects', () => {
  it.each([301, 302, 307, 308])(
    '%i is refused with the target named, and the target is never asked',
    async (status) => {
      const seen: { path: string; authorization: string | undefined }[] = [];
      const target = await listen((req, res) => {
        seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      });
      const hostile = await listen((req, res) => {
        res.writeHead(status, { location: `${target}${req.url ?? '/'}` }).end();
      });
      const history = fetchHistory({ baseUrl: hostile, key: 'cat_secret' }, 0);
      await expect(history).rejects.toBeInstanceOf(HttpError);
      await expect(history).rejects.toThrow(`HTTP ${status} redirect to ${target}/v1/signals`);
      await expect(fetchJwks({ baseUrl: hostile })).rejects.toThrow(/redirect .* refused/);
      expect(seen).toEqual([]);
    },
  );
});
