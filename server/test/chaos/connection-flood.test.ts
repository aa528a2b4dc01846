import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import { connect, type TestWs } from '../helpers/ws-client.js';

const status = (c: TestWs) =>
  c.opened.then(
    () => 101,
    (e: { status?: number }) => e.status ?? 0,
  );

describe('connection floods from one address', () => {
  it('400 concurrent upgrades against a 300-per-window limit: exactly 300 open, the rest 429; the server stays healthy', async () => {
    const t = await startTestServer({ ws_max_per_key: 1000 });
    const clients = Array.from({ length: 400 }, () => connect(t.wsUrl, t.readKey));
    const codes = await Promise.all(clients.map(status));
    expect(codes.filter((c) => c === 101)).toHaveLength(300);
    expect(codes.filter((c) => c === 429)).toHaveLength(100);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    for (const c of clients) c.ws.terminate();
  });

  it('500 idle TCP connections and 100 half-sent requests do not starve REST or WebSocket clients', async () => {
    const t = await startTestServer();
    const sockets: net.Socket[] = [];
    onTestFinished(() => sockets.forEach((s) => s.destroy()));
    await Promise.all(
      Array.from(
        { length: 600 },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const s = net.connect(t.server.port, '127.0.0.1', () => {
              if (i >= 500)
                s.write(
                  `GET /v1/signals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.readKey}\r\nX-Slow: `,
                );
              resolve();
            });
            s.on('error', reject);
            sockets.push(s);
          }),
      ),
    );
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect((await t.get('/v1/signals')).status).toBe(200);
    const c = connect(t.wsUrl, t.readKey);
    await c.frame('hello');
  });
});
