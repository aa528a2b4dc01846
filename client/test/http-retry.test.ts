import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchHistory } from '../src/http.js';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

describe('REST client', () => {
  it('waits out a 429 with Retry-After and then gets the page', async () => {
    let calls = 0;
    const times: number[] = [];
    server = http.createServer((_req, res) => {
      calls++;
      times.push(Date.now());
      if (calls === 1) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/problem+json' });
        return res.end(JSON.stringify({ code: 'rate_limited', title: 'Too many requests', status: 429 }));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ signals: [], next_after_seq: 0, head_seq: 0, epoch: 'e' }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const page = await fetchHistory({ baseUrl: `http://127.0.0.1:${port}`, key: 'k' }, 0);
    expect(page.head_seq).toBe(0);
    expect(calls).toBe(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(900);
  });

  it('gives up after a bounded number of retries with the problem detail', async () => {
    let calls = 0;
    server = http.createServer((_req, res) => {
      calls++;
      res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ code: 'unavailable', detail: 'database unavailable', status: 503 }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await expect(fetchHistory({ baseUrl: `http://127.0.0.1:${port}`, key: 'k' }, 0)).rejects.toThrow(
      /503 database unavailable/,
    );
    expect(calls).toBe(6);
  }, 30_000);
});
