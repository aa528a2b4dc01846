import { describe, expect, it } from 'vitest';
import { classification, startTestServer } from './helpers/server.js';
import { rawHttp } from './helpers/raw-http.js';

const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Every answer, not only the status page, says nosniff and carries a restrictive CSP: a JSON or metrics answer
 * opened in a browser (or sniffed into HTML) can run nothing, load nothing and be framed by no one. The status
 * page keeps its own CSP, once (not doubled by the API default).
 */
describe('security headers on every response', () => {
  it('API, metrics, errors and the WebSocket refusal: nosniff and the API CSP, exactly once', async () => {
    const t = await startTestServer();
    const get = (path: string, key?: string) =>
      fetch(`${t.url}${path}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    const answers: [string, Response][] = [
      ['healthz', await get('/healthz')],
      ['readyz', await get('/readyz')],
      ['signing keys', await get('/v1/keys/signing')],
      ['history 200', await get('/v1/signals', t.readKey)],
      ['history 401', await get('/v1/signals')],
      ['ingest 400', await t.post({ ...classification(), confidence: 7 })],
      ['ingest 201', await t.post(classification())],
      ['metrics', await get('/metrics', t.adminKey)],
      ['unknown route 404', await get('/nope')],
      ['method 405', await fetch(`${t.url}/v1/keys/signing`, { method: 'DELETE' })],
      ['preflight 404', await fetch(`${t.url}/v1/signals`, { method: 'OPTIONS' })],
    ];
    for (const [name, r] of answers) {
      expect(r.headers.get('x-content-type-options'), name).toBe('nosniff');
      // Headers.get joins repeated headers with ", ": equality also proves there is one.
      expect(r.headers.get('content-security-policy'), name).toBe(API_CSP);
      expect(r.headers.get('x-frame-options'), name).toBe('DENY');
    }
    const upgrade = await rawHttp(
      t.server.port,
      'GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
        'Authorization: Bearer cat_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n',
    );
    expect(upgrade?.status).toBe(401);
    expect(upgrade?.headers['x-content-type-options']).toBe('nosniff');
    expect(upgrade?.headers['content-security-policy']).toBe(API_CSP);
  });

  it("the status and track-record pages' own answers keep the page CSP, once", async () => {
    const t = await startTestServer();
    for (const path of [
      '/status/',
      '/status/no-such-file.js',
      '/track-record/',
      '/track-record/no-such-file.js',
      // The track record's path serves its own page and the shared assets, not the status page.
      '/track-record/index.html',
    ]) {
      const r = await fetch(`${t.url}${path}`);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("connect-src 'self'");
      expect(csp, path).not.toContain(', ');
      if (path.startsWith('/track-record/') && path !== '/track-record/') expect(r.status, path).toBe(404);
    }
  });
});
