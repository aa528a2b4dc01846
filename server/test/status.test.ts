import { ErrorCode, StatusFrameSchema, type StatusFrame } from '@catalyst-signal/shared';
import { describe, expect, it } from 'vitest';
import { rawHttp } from './helpers/raw-http.js';
import { classification, startTestServer } from './helpers/server.js';
import { connect, type Frame, type TestWs } from './helpers/ws-client.js';

/** The key id of an API key `cat_<id>_<secret>`: what the status frame lists (never the secret). */
const keyId = (key: string) => key.split('_')[1]!;

const statuses = (ws: TestWs): StatusFrame[] =>
  ws.frames.filter((f) => f.type === 'status').map((f) => StatusFrameSchema.parse(f));

/** Resolve with the first status frame (arriving from now on) that satisfies `cond`. */
function nextStatus(ws: TestWs, cond: (s: StatusFrame) => boolean, what: string): Promise<StatusFrame> {
  const seen = ws.frames.length;
  return ws.until(() => statuses({ frames: ws.frames.slice(seen) } as TestWs).find(cond), 10_000, what);
}

describe('/status: the page', () => {
  it('is served with a strict CSP, no framing, nosniff, no referrer, and cacheable hashed assets', async () => {
    const t = await startTestServer();
    const redirect = await fetch(`${t.url}/status`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('status/');

    const page = await fetch(`${t.url}/status/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    // The icon is a file of the page's own (img-src falls back to 'self'): no /favicon.ico 404 in the console.
    expect(assets.some((a) => a.endsWith('.svg'))).toBe(true);
    for (const a of assets) {
      const r = await fetch(`${t.url}/status/${a}`);
      expect(r.status).toBe(200);
      const type = { js: /^text\/javascript/, css: /^text\/css/, svg: /^image\/svg\+xml$/ }[
        a.split('.').pop()!
      ];
      expect(r.headers.get('content-type')).toMatch(type!);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const missing = await fetch(`${t.url}/status/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    const traversal = await rawHttp(
      t.server.port,
      'GET /status/../../package.json HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(traversal?.status).toBe(404);
  });

  it('sends a browser from / to the page; any other caller gets a problem naming where things are', async () => {
    const t = await startTestServer();
    const browser = await fetch(`${t.url}/`, {
      redirect: 'manual',
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(browser.status).toBe(303);
    expect(browser.headers.get('location')).toBe('status/'); // relative: a proxy prefix is kept
    const followed = await fetch(`${t.url}/`, { headers: { accept: 'text/html' } });
    expect(new URL(followed.url).pathname).toBe('/status/');
    expect(followed.headers.get('content-type')).toBe('text/html; charset=utf-8');

    const api = await fetch(`${t.url}/`);
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toBe('application/problem+json');
    expect(((await api.json()) as { detail: string }).detail).toMatch(/status page is at \/status/);
  });

  it('sends no CORS headers on any route: preflights get a 404, cross-origin reads stay unreadable', async () => {
    const t = await startTestServer();
    const origin = 'Origin: https://evil.example\r\n';
    const preflight = await rawHttp(
      t.server.port,
      `OPTIONS /v1/signals HTTP/1.1\r\nHost: x\r\n${origin}Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n\r\n`,
    );
    expect(preflight?.status).toBe(404);
    for (const path of ['/healthz', '/status/', '/v1/keys/signing', '/v1/signals', '/v1/admin/keys']) {
      const r = await rawHttp(t.server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${origin}\r\n`);
      expect(r, path).toBeDefined();
      const cors = Object.keys(r!.headers).filter((h) => h.toLowerCase().startsWith('access-control-'));
      expect(cors, path).toEqual([]);
    }
    for (const h of Object.keys(preflight!.headers)) expect(h.toLowerCase()).not.toMatch(/^access-control-/);
  });
});

describe('the status frame (admin only)', () => {
  it('is refused for a read key (error forbidden, the socket stays usable) and a publish key cannot connect', async () => {
    const t = await startTestServer();
    const reader = connect(t.wsUrl, t.readKey);
    await reader.frame('hello');
    reader.send({ type: 'status' });
    const err = await reader.until(() => reader.frames.find((f) => f.type === 'error'), 5000, 'an error');
    expect(err).toMatchObject({ code: ErrorCode.forbidden });
    reader.send({ type: 'ping', id: 7 });
    await reader.until(() => reader.frames.find((f) => f.type === 'pong'), 5000, 'pong');
    expect(reader.frames.some((f) => f.type === 'status')).toBe(false);
    expect(reader.closeCode).toBeUndefined();

    const publisher = connect(t.wsUrl, t.publishKey);
    await expect(publisher.opened).rejects.toMatchObject({ status: 403 });
  });

  it('shows a client connecting and leaving, and a signal just ingested', async () => {
    const t = await startTestServer();
    const admin = connect(t.wsUrl, t.adminKey);
    await admin.frame('hello');
    admin.send({ type: 'status' });
    const first = await nextStatus(admin, () => true, 'a first status frame');
    expect(first.clients.keys.map((k) => k.key_id)).toEqual([keyId(t.adminKey)]);
    expect(first.clients.keys[0]!.listed[0]!.status).toBe(true);
    expect(first.db_size_bytes).toBeGreaterThan(0);

    // A real client connects and subscribes: pushed on the connect, without waiting for the next second.
    const client = connect(t.wsUrl, t.readKey);
    await client.frame('hello');
    client.send({ type: 'subscribe', from_seq: 0 });
    await client.frame('caught_up');
    const withClient = await nextStatus(
      admin,
      (s) => s.clients.keys.some((k) => k.key_id === keyId(t.readKey) && k.listed[0]?.state === 'live'),
      'the read key listed, live',
    );
    expect(withClient.clients.sockets).toBe(2);

    const res = await t.post(classification(1, { symbol: 'MRNA', headline: 'FDA approves a thing' }));
    const { seq } = (await res.json()) as { seq: number };
    const withSignal = await nextStatus(
      admin,
      (s) => s.recent[0]?.seq === seq && s.signals.ingested_total >= 1,
      'the signal in recent',
    );
    expect(withSignal.head_seq).toBe(seq);
    expect(withSignal.recent[0]).toMatchObject({
      symbol: 'MRNA',
      action: 'enter',
      headline: 'FDA approves a thing',
    });
    expect(withSignal.signals.per_min).toBeGreaterThanOrEqual(1);
    expect(withSignal.latency.ingest.count).toBeGreaterThanOrEqual(1);
    expect(withSignal.latency.ingest.p50_ms).not.toBeNull();

    client.ws.close();
    await nextStatus(
      admin,
      (s) => !s.clients.keys.some((k) => k.key_id === keyId(t.readKey)),
      'the read key gone',
    );
    // Never a secret on the wire: only key ids.
    const all = JSON.stringify(admin.frames as Frame[]);
    for (const k of [t.adminKey, t.readKey, t.publishKey])
      expect(all).not.toContain(k.split('_').slice(2).join('_'));
  });
});
