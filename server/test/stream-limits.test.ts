import { SignJWT } from 'jose';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { classification } from './helpers/server.js';
import { describeTargets, startTarget } from './helpers/target.js';
import { connect, TestWs } from './helpers/ws-client.js';

const JWT = { issuer: 'catalyst-test', audience: 'catalyst', secret: 's'.repeat(40) };
const secret = new TextEncoder().encode(JWT.secret);
const token = (claims: Record<string, unknown>, exp: string | number = '1h') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(JWT.issuer)
    .setAudience(JWT.audience)
    .setSubject('friend-1')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(secret);

async function upgradeStatus(c: TestWs): Promise<number | undefined> {
  return c.opened.then(
    () => undefined,
    (e: { status?: number }) => e.status,
  );
}

describeTargets('stream authentication', (kind) => {
  it('rejects the upgrade with HTTP 401 for a bad key and 403 for a key without read scope', async () => {
    const t = await startTarget(kind);
    expect(await upgradeStatus(connect(t.wsUrl, 'cat_000000000000_' + 'x'.repeat(43)))).toBe(401);
    expect(await upgradeStatus(connect(t.wsUrl, 'not-a-key'))).toBe(401);
    const publishOnly = await t.createKey(['publish']);
    expect(await upgradeStatus(connect(t.wsUrl, publishOnly))).toBe(403);
  });

  it('browser path 1: Sec-WebSocket-Protocol bearer token', async () => {
    const t = await startTarget(kind);
    const c = new TestWs(new WebSocket(`${t.wsUrl}/v1/stream`, ['catalyst.v1', `bearer.${t.readKey}`]));
    await c.opened;
    expect(c.ws.protocol).toBe('catalyst.v1');
    expect(await c.frame('hello')).toMatchObject({ authenticated: true });
  });

  it('browser path 2: token in the first frame, within the deadline', async () => {
    const t = await startTarget(kind);
    const c = connect(t.wsUrl);
    const hello = await c.frame('hello');
    expect(hello).toMatchObject({ authenticated: false, auth_deadline_ms: 5000 });
    c.send({ type: 'auth', token: t.readKey });
    await c.until(() => c.frames.find((f) => f.type === 'hello' && f.authenticated === true));
    c.send({ type: 'subscribe', from_seq: 0 });
    await c.frame('caught_up');
  });

  it('closes an unauthenticated socket at the auth deadline (4001), and one that subscribes first', async () => {
    const t = await startTarget(kind, { auth_deadline_ms: 100 });
    const idle = connect(t.wsUrl);
    expect(await idle.closed()).toBe(4001);
    const eager = connect(t.wsUrl);
    await eager.frame('hello');
    eager.send({ type: 'subscribe', from_seq: 0 });
    expect(await eager.closed()).toBe(4001);
    const wrong = connect(t.wsUrl);
    await wrong.frame('hello');
    wrong.send({ type: 'auth', token: 'cat_000000000000_' + 'y'.repeat(43) });
    expect(await wrong.closed()).toBe(4001);
  });

  it('revoking a key (admin API) closes its live sockets within 1 s (4003)', async () => {
    const t = await startTarget(kind);
    const c = connect(t.wsUrl, t.readKey);
    await c.frame('hello');
    const id = t.readKey.split('_')[1]!;
    const started = Date.now();
    // The admin API is on the single node, or on an ingest node (a gateway cannot write the cluster's keys).
    const res = await fetch(`${t.ingestUrl}/v1/admin/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(res.status).toBe(204);
    expect(await c.closed(2000)).toBe(4003);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await upgradeStatus(connect(t.wsUrl, t.readKey))).toBe(401);
  });

  it('a revoke by another process (the CLI on the database, or on the cluster) is noticed too', async () => {
    const t = await startTarget(kind);
    const c = connect(t.wsUrl, t.readKey);
    await c.frame('hello');
    await t.revokeElsewhere(t.readKey.split('_')[1]!);
    expect(await c.closed(2000)).toBe(4003);
  });

  it('JWTs: valid token streams; expired, wrong issuer/audience, alg none and wrong key are refused; expiry closes 4004', async () => {
    const t = await startTarget(kind, { jwt: JWT });
    const ok = connect(t.wsUrl, await token({ scope: 'read' }));
    expect(await ok.frame('hello')).toMatchObject({ authenticated: true });
    expect(
      await upgradeStatus(
        connect(t.wsUrl, await token({ scope: 'read' }, Math.floor(Date.now() / 1000) - 60)),
      ),
    ).toBe(401);
    const wrongIss = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('evil')
      .setAudience(JWT.audience)
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(secret);
    expect(await upgradeStatus(connect(t.wsUrl, wrongIss))).toBe(401);
    const wrongAud = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(JWT.issuer)
      .setAudience('other')
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(secret);
    expect(await upgradeStatus(connect(t.wsUrl, wrongAud))).toBe(401);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ iss: JWT.issuer, aud: JWT.audience, sub: 'x', scope: 'read', exp: 9e9 })}.`;
    expect(await upgradeStatus(connect(t.wsUrl, none))).toBe(401);
    const otherKey = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(JWT.issuer)
      .setAudience(JWT.audience)
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('t'.repeat(40)));
    expect(await upgradeStatus(connect(t.wsUrl, otherKey))).toBe(401);
    expect(await upgradeStatus(connect(t.wsUrl, await token({ scope: 'publish' })))).toBe(403);
    // A token that expires while connected: closed with 4004 (the clock tolerance is 5 s by default; 0 here).
    const t2 = await startTarget(kind, { jwt: { ...JWT, clock_tolerance_s: 0 } });
    // Three seconds of validity: long enough to be admitted on a loaded machine, short enough to expire here.
    const soon = connect(t2.wsUrl, await token({ scope: 'read' }, Math.floor(Date.now() / 1000) + 3));
    await soon.frame('hello');
    expect(await soon.closed(8000)).toBe(4004);
  });
});

describeTargets('stream limits', (kind) => {
  it('caps concurrent connections per key (HTTP 429 at upgrade)', async () => {
    const t = await startTarget(kind, { ws_max_per_key: 2 });
    const a = connect(t.wsUrl, t.readKey);
    const b = connect(t.wsUrl, t.readKey);
    await Promise.all([a.frame('hello'), b.frame('hello')]);
    expect(await upgradeStatus(connect(t.wsUrl, t.readKey))).toBe(429);
    a.ws.close();
    await a.closed();
    // The slot frees when the socket closes (server-side close handler runs before the client's close event).
    const d = connect(t.wsUrl, t.readKey);
    await d.frame('hello');
  });

  it('limits new connections per IP', async () => {
    const t = await startTarget(kind, { ws_connections_per_ip: 3, ws_max_per_key: 10 });
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++) codes.push(await upgradeStatus(connect(t.wsUrl, t.readKey)));
    expect(codes).toEqual([undefined, undefined, undefined, 429]);
  });

  it('frames over the per-connection rate get an error frame, then a close (4008) if sustained', async () => {
    const t = await startTarget(kind, { ws_frames_per_s: 3 });
    const c = connect(t.wsUrl, t.readKey);
    await c.frame('hello');
    for (let i = 0; i < 4; i++) c.send({ type: 'ping', id: i });
    const err = await c.frame('error');
    expect(err).toMatchObject({ code: 'rate_limited' });
    for (let i = 0; i < 10; i++) c.send({ type: 'ping', id: i });
    expect(await c.closed()).toBe(4008);
  });

  it('malformed, unknown and binary frames get error frames; repeated ones close with 4400; no crash', async () => {
    const t = await startTarget(kind, { ws_frames_per_s: 100 });
    const c = connect(t.wsUrl, t.readKey);
    await c.frame('hello');
    c.send('{not json');
    c.send({ type: 'nope' });
    c.send({ type: 'subscribe', from_seq: -1 });
    c.send({ type: 'subscribe', from_seq: 1, __proto__x: 1, constructor: 'x' });
    await c.until(() => c.frames.filter((f) => f.type === 'error').length === 4);
    const codes = c.frames.filter((f) => f.type === 'error').map((f) => f.code);
    expect(codes).toEqual(['bad_json', 'bad_frame', 'bad_frame', 'bad_frame']);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.until(() => c.frames.filter((f) => f.type === 'error').length === 5);
    expect(c.frames.at(-1)).toMatchObject({ code: 'binary_frame' });
    c.send('[]');
    expect(await c.closed()).toBe(4400);
    // The server is fine.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('a frame over the size limit closes the socket (1009)', async () => {
    const t = await startTarget(kind, { ws_max_frame_bytes: 1024 });
    const c = connect(t.wsUrl, t.readKey);
    await c.frame('hello');
    c.send({ type: 'ping', id: 'x'.repeat(2000) });
    expect(await c.closed()).toBe(1009);
  });

  it('a client that never reads is closed as a slow consumer; it resumes later with nothing lost', async () => {
    const t = await startTarget(kind, { ws_max_backpressure_bytes: 64 * 1024 });
    const slow = connect(t.wsUrl, t.readKey);
    await slow.frame('hello');
    slow.send({ type: 'subscribe', from_seq: 0 });
    await slow.frame('caught_up');
    // Stop reading: the kernel buffers fill, then the server's per-socket buffer does.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const fat = (i: number) =>
      classification(i, { headline: 'h'.repeat(500), meta: { pad: 'p'.repeat(3500) } });
    let sent = 0;
    while (t.server.stream!.connected > 0 && sent < 20_000) {
      const res = await t.post(Array.from({ length: 4 }, (_, i) => fat(sent + i)));
      expect(res.status).toBe(201);
      sent += 4;
      t.server.stream!.checkSlowConsumers(); // what the 250 ms timer does, run now so the test is deterministic
    }
    expect(t.server.stream!.connected).toBe(0);
    const closes = await t.server.metrics.registry.getSingleMetricAsString('catalyst_ws_closes_total');
    expect(closes).toMatch(/reason="slow_consumer"} 1/);
    // Memory stayed bounded: the server did not keep buffering for it.
    expect(sent).toBeLessThan(20_000);
    // It comes back and resumes from what it had: every seq exactly once.
    const got = slow.signals().map((s) => s.seq);
    const last = got.at(-1) ?? 0;
    const again = connect(t.wsUrl, t.readKey);
    await again.frame('hello');
    again.send({ type: 'subscribe', from_seq: last });
    await again.frame('caught_up', 20_000);
    const all = [...got, ...again.signals().map((s) => s.seq)];
    expect(all).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
  });
});
