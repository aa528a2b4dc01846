import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchHealth, fetchHistory } from '../src/http.js';
import { netReason } from '../src/net-error.js';
import { runCli, writeConfig } from './helpers/client-process.js';

// "fetch failed" tells a person nothing: every network failure names the URL and the underlying reason.

/** A port that was just listening on 127.0.0.1 and is now closed: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-neterr-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('REST failures', () => {
  it('name the URL and ECONNREFUSED when nothing listens', async () => {
    const port = await closedPort();
    const base = `http://127.0.0.1:${port}`;
    await expect(fetchHistory({ baseUrl: base, key: 'k' }, 7, 1)).rejects.toThrow(
      `${base}/v1/signals?after_seq=7&limit=1: ECONNREFUSED 127.0.0.1:${port}`,
    );
    await expect(fetchHealth({ baseUrl: base })).rejects.toThrow(`${base}/healthz: ECONNREFUSED`);
  });

  it('name the URL and the HTTP status with the problem detail', async () => {
    const server = http.createServer((_q, res) => {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ code: 'unauthorized', title: 'Unauthorized', detail: 'unknown key' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(fetchHistory({ baseUrl: base, key: 'k' }, 0, 1)).rejects.toThrow(
        `${base}/v1/signals?after_seq=0&limit=1: HTTP 401 unknown key`,
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('name the URL when the server does not answer in time', async () => {
    const server = http.createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await expect(fetchHealth({ baseUrl: base, timeoutMs: 200 })).rejects.toThrow(
        `${base}/healthz: no answer within 200 ms`,
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('netReason', () => {
  // The shapes Node produces: fetch's "fetch failed" with the socket error as cause, a dual-stack AggregateError,
  // a TLS error whose message does not contain its code.
  const sys = (code: string, message: string) => Object.assign(new Error(message), { code });
  it('reads the cause, each address of an AggregateError, and keeps a certificate code', () => {
    const refused = sys('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8787');
    expect(netReason(new TypeError('fetch failed', { cause: refused }))).toBe('ECONNREFUSED 127.0.0.1:8787');
    const both = Object.assign(
      new AggregateError([sys('ECONNREFUSED', 'connect ECONNREFUSED ::1:8787'), refused], ''),
      { code: 'ECONNREFUSED' },
    );
    expect(netReason(new TypeError('fetch failed', { cause: both }))).toBe(
      'ECONNREFUSED ::1:8787; ECONNREFUSED 127.0.0.1:8787',
    );
    const cert = sys('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate');
    expect(netReason(new TypeError('fetch failed', { cause: cert }))).toBe(
      'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate',
    );
    expect(netReason(sys('ENOTFOUND', 'getaddrinfo ENOTFOUND signals.example.org'))).toBe(
      'ENOTFOUND signals.example.org',
    );
  });
});

describe('catalyst-client check against a closed port', () => {
  it('shows each URL it tried and ECONNREFUSED, and fails', async () => {
    const port = await closedPort();
    const cfg = writeConfig(dir, { server: { url: `http://127.0.0.1:${port}` } });
    writeFileSync(join(dir, '.env'), 'CATALYST_SERVER_KEY=cat_test_key\n');
    const r = await runCli(['-c', cfg, 'check'], {}, dir);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const refused = `ECONNREFUSED 127.0.0.1:${port}`;
    expect(r.stdout).toContain(`server unreachable: http://127.0.0.1:${port}/healthz: ${refused}`);
    expect(r.stdout).toContain(`http://127.0.0.1:${port}/v1/keys/signing: ${refused}`);
    expect(r.stdout).toContain(`stream ws://127.0.0.1:${port}/v1/stream: ${refused}`);
    expect(r.stdout).not.toContain('fetch failed');
  });
});
