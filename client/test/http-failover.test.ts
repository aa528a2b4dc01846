import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AllServersFailed, HttpError, NetworkError, failover, fetchJwks } from '../src/http.js';

// REST across the gateways of a cluster: the next one is asked on a connection error or a 5xx (another gateway
// may answer), never on a 4xx (the key or the request is wrong everywhere). Real HTTP servers on port 0.

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server answering every request with `status` (and a JWKS on 200); counts requests. */
async function answering(status: number, hits: { n: number }): Promise<string> {
  const s = createServer((_req, res) => {
    hits.n++;
    // A 503 says when to come back, as the real server does: failover must not wait for it.
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(status === 503 ? { 'retry-after': '1' } : {}),
    });
    res.end(JSON.stringify(status === 200 ? { keys: [] } : { code: 'x', title: `status ${status}` }));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function refused(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise((r) => s.close(r));
  return url;
}

const jwks = (urls: string[]) => failover(urls, (baseUrl, failFast) => fetchJwks({ baseUrl, failFast }));

describe('REST failover', () => {
  it('connection refused, 502 and 503 move on to the next URL; the first answer wins', async () => {
    const h = { n: 0 };
    const ok = { n: 0 };
    const urls = [
      await refused(),
      await answering(502, h),
      await answering(503, h),
      await answering(200, ok),
    ];
    expect(await jwks(urls)).toEqual({ keys: [] });
    expect([h.n, ok.n]).toEqual([2, 1]); // the 503 is not waited out (no Retry-After loop) while others remain
  });

  it('a 4xx is the answer: no other URL is asked', async () => {
    const later = { n: 0 };
    const urls = [await answering(401, { n: 0 }), await answering(200, later)];
    const e = await jwks(urls).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).status).toBe(401);
    expect(later.n).toBe(0);
  });

  it('all failed: one error naming each URL; a single URL keeps its own error', async () => {
    const [dead, bad] = [await refused(), await answering(500, { n: 0 })];
    const e = await jwks([dead, bad]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AllServersFailed);
    expect((e as Error).message).toMatch(
      new RegExp(`^${dead}/v1/keys/signing: ECONNREFUSED.*; ${bad}/v1/keys/signing: HTTP 500`),
    );
    expect(await jwks([dead]).catch((x: unknown) => x)).toBeInstanceOf(NetworkError);
  });
});
