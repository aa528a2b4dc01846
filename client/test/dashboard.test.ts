import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseConfig, type ConfigInput } from '../src/config.js';
import { SnapshotSchema, StorySchema, type Snapshot } from '../src/dashboard/api.js';
import { resolvesToLoopback, tokenMatches } from '../src/dashboard/security.js';
import { DashboardRefused, startDashboard, type DashboardServer } from '../src/dashboard/server.js';
import { Journal } from '../src/journal/index.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { testLog } from './helpers/logger.js';
import { waitEvent } from './helpers/wait.js';

// The local dashboard against a REAL paper client: the run engine decides signals from a stand-in signal
// server and journals them; the dashboard reads that journal over its own SQLite connection, on 127.0.0.1.

const CONFIG = {
  filters: { min_confidence: 0.5 },
  risk: { cooldown_per_symbol_ms: 0, short_on_spot: 'sell_holdings' },
  paper: { slippage_pct: 0, fee_rate: 0.001 },
} satisfies ConfigInput;

let server: FakeSignalServer;
let dir: string;
let engine: TestEngine;
let dash: DashboardServer;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(
  path: string,
  o: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    port?: number;
    /** The client's own address (any of 127.0.0.0/8): a second peer on the same machine. */
    localAddress?: string;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const port = o.port ?? dash.port;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        method: o.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...o.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}
const auth = (token = dash.token) => ({ authorization: `Bearer ${token}` });

async function snapshot(): Promise<Snapshot> {
  const r = await http('/api/snapshot', { headers: auth() });
  expect(r.status).toBe(200);
  return SnapshotSchema.parse(JSON.parse(r.body));
}

/** Open the live feed and collect frames; resolves once the socket is open. */
async function openFeed(headers: Record<string, string> = {}, token = dash.token) {
  const frames: Record<string, unknown>[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${dash.port}/api/stream`, ['catalyst.v1', `bearer.${token}`], {
    headers,
  });
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await waitEvent(ws, 'open');
  const waitFrame = async (pred: (f: Record<string, unknown>) => boolean) => {
    while (!frames.some(pred)) await waitEvent(ws, 'message');
    return frames.find(pred)!;
  };
  return { ws, frames, waitFrame };
}

beforeAll(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-dash-'));
  engine = await startTestEngine({
    dir,
    config: { ...CONFIG, server: { url: server.url, start_from: 'all' } },
    serverKey: server.key,
    stopAfterTest: false,
  });
  const done = waitEvent(engine.engine.connection, 'applied', (seq: number) => seq === 5);
  await server.publish({ symbol: 'BTC', price: 60000, catalyst: 'earnings' }); // buy BTC
  await server.publish({ symbol: 'ETH', price: 3000, catalyst: 'merger' }); // buy ETH
  await server.publish({ symbol: 'BTC', price: 66000, catalyst: 'fda', direction: 'short' }); // sell the BTC
  await server.publish({ symbol: 'SOL', price: 150, confidence: 0.1 }); // skipped:confidence
  await server.publish({ symbol: 'ETH', price: 3300, catalyst: 'merger' }); // buy more ETH, marks it at 3300
  await done;
  dash = await startDashboard({
    config: parseConfig(CONFIG),
    journalPath: engine.journalPath,
    log: testLog,
    heartbeatMs: 500,
  });
}, 60_000);

afterAll(async () => {
  await dash?.close();
  await engine?.stop();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard: access', () => {
  it('listens on 127.0.0.1 and prints one URL carrying the token in the fragment', () => {
    expect(dash.url).toBe(`http://127.0.0.1:${dash.port}/#token=${dash.token}`);
    expect(dash.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
  });

  it('API: 401 without a token, with a wrong one (same length or not); 200 with the right one', async () => {
    const wrong = dash.token.slice(0, -1) + (dash.token.endsWith('A') ? 'B' : 'A');
    for (const headers of [{}, auth(wrong), auth('short'), { authorization: `Basic ${dash.token}` }]) {
      const r = await http('/api/snapshot', { headers });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer');
      expect(r.body).not.toContain('BTC');
    }
    expect((await http('/api/snapshot', { headers: auth() })).status).toBe(200);
    // Unknown API paths answer 401 too before anything else: nothing is learned without the token.
    expect((await http('/api/anything')).status).toBe(401);
  });

  it('token compare hashes both sides first, so it runs on equal lengths whatever is presented', () => {
    const t = dash.token;
    expect(tokenMatches(t, t)).toBe(true);
    expect(tokenMatches(undefined, t)).toBe(false);
    expect(tokenMatches('', t)).toBe(false);
    expect(tokenMatches(t + 'x', t)).toBe(false);
    expect(tokenMatches('x'.repeat(10_000), t)).toBe(false);
  });

  it('serves only the page shell and its assets without a token', async () => {
    const page = await http('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    expect((await http(`/${asset}`)).status).toBe(200);
    expect((await http('/../journal.sqlite')).status).toBe(404);
    expect((await http('/assets/../../config.ts')).status).toBe(404);
  });

  it('refuses a Host other than 127.0.0.1/localhost:PORT (DNS rebinding), even with the token', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${dash.port}`,
      '127.0.0.1:1',
      `attacker.test:${dash.port}`,
    ]) {
      const r = await http('/api/snapshot', { headers: { ...auth(), host } });
      expect(r.status).toBe(403);
      expect((await http('/', { headers: { host } })).status).toBe(403);
    }
    expect(
      (await http('/api/snapshot', { headers: { ...auth(), host: `localhost:${dash.port}` } })).status,
    ).toBe(200);
  });

  it('headers: strict CSP without inline script, no framing, nosniff, no-referrer, and no CORS', async () => {
    for (const r of [
      await http('/'),
      await http('/api/snapshot', { headers: { ...auth(), origin: 'http://evil.example' } }),
      await http('/api/snapshot'),
    ]) {
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    const preflight = await http('/api/kill-switch', {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('refuses to listen beyond loopback without a password; with one, a login gives the token', async () => {
    const config = parseConfig({ ...CONFIG, dashboard: { host: '0.0.0.0' } });
    await expect(startDashboard({ config, journalPath: engine.journalPath, log: testLog })).rejects.toThrow(
      DashboardRefused,
    );
    const d = await startDashboard({
      config,
      journalPath: engine.journalPath,
      log: testLog,
      password: 'correct horse',
    });
    try {
      const login = (password: string) =>
        http('/api/login', {
          port: d.port,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password }),
        });
      expect((await login('wrong')).status).toBe(401);
      // One failed attempt blocks logins for a second: wait for the block to pass (polling the answer).
      let ok: Answer;
      do ok = await login('correct horse');
      while (ok.status === 429);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toEqual({ token: d.token });
    } finally {
      await d.close();
    }
  });

  it("a peer's wrong passwords block only its own address: the friend's right password still logs in", async () => {
    const config = parseConfig({ ...CONFIG, dashboard: { host: '127.0.0.1' } });
    await expect(
      startDashboard({ config, journalPath: engine.journalPath, log: testLog, password: 'short' }),
    ).rejects.toThrow(/shorter than 12 characters/);
    const d = await startDashboard({
      config,
      journalPath: engine.journalPath,
      log: testLog,
      password: 'correct horse battery',
    });
    try {
      const login = (password: string, localAddress: string) =>
        http('/api/login', {
          port: d.port,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password }),
          localAddress,
        });
      for (let i = 0; i < 10; i++) {
        // The attacker guesses, and is blocked after its first miss...
        expect([401, 429]).toContain((await login(`guess-${i}-xxxxxxxx`, '127.0.0.2')).status);
        expect((await login(`guess-${i}-xxxxxxxx`, '127.0.0.2')).status).toBe(429);
        // ...while the friend, from another address, gets in every time.
        const ok = await login('correct horse battery', '127.0.0.3');
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body)).toEqual({ token: d.token });
      }
    } finally {
      await d.close();
    }
  });

  it('dashboard.host is judged by the addresses it resolves to, not by its name', async () => {
    const config = parseConfig({ ...CONFIG, dashboard: { host: 'localhost' } });
    // /etc/hosts (or a resolver) pointing "localhost" at another machine's address: not loopback.
    await expect(
      startDashboard({
        config,
        journalPath: engine.journalPath,
        log: testLog,
        lookup: async () => [{ address: '127.0.0.1' }, { address: '192.0.2.10' }],
      }),
    ).rejects.toThrow(/is not loopback: set a password/);
    // The system's own resolution of localhost here is loopback: it starts without a password.
    const d = await startDashboard({ config, journalPath: engine.journalPath, log: testLog });
    await d.close();
    expect(await resolvesToLoopback('::ffff:127.0.0.1')).toBe(true);
    const unresolvable = () => Promise.reject(new Error('ENOTFOUND'));
    expect(await resolvesToLoopback('catalyst-dashboard', unresolvable)).toBe(false);
  });

  it('live feed: the upgrade needs the token and our own origin', async () => {
    const refused = async (headers: Record<string, string>, token: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${dash.port}/api/stream`, ['catalyst.v1', `bearer.${token}`], {
        headers,
      });
      ws.on('error', () => undefined);
      const [, res] = await waitEvent<[unknown, { statusCode: number }]>(ws, 'unexpected-response');
      return res.statusCode;
    };
    expect(await refused({}, 'x'.repeat(43))).toBe(401);
    expect(await refused({ origin: 'http://evil.example' }, dash.token)).toBe(403);
    expect(await refused({ host: `evil.example:${dash.port}` }, dash.token)).toBe(403);
  });
});

describe('dashboard: what it shows', () => {
  it('snapshot: feed with verdicts and reasons, positions, orders, P&L from the real paper fills', async () => {
    const s = await snapshot();
    expect(s.mode).toBe('paper');
    expect(s.session).toBeNull(); // crypto: no sessions
    expect(s.feed.map((r) => [r.seq, r.reason])).toEqual([
      [5, 'trade:entry'],
      [4, 'skipped:confidence'],
      [3, 'trade:exit'],
      [2, 'trade:entry'],
      [1, 'trade:entry'],
    ]);
    expect(s.feed.find((r) => r.seq === 4)!.reason_text).toBe('confidence below filters.min_confidence');
    expect(s.positions.map((p) => p.market)).toEqual(['ETH/USDT']);
    const eth = s.positions[0]!;
    expect(eth.price).toBeCloseTo(3300, 6); // the last fill
    expect(eth.unrealized!).toBeGreaterThan(0);
    expect(s.orders.map((o) => o.status)).toEqual(['filled', 'filled', 'filled', 'filled']);

    const j = Journal.open(engine.journalPath);
    try {
      expect(s.pnl.realized).toBeCloseTo(j.totalRealized(), 9);
    } finally {
      j.close();
    }
    // BTC: bought at 60000 (earnings), sold at 66000 (an fda short signal): the profit is the earnings entry's.
    const cat = Object.fromEntries(s.pnl_by_catalyst.map((b) => [b.key, b]));
    expect(cat['earnings']!.realized).toBeGreaterThan(0);
    expect(cat['earnings']!.entries).toBe(1);
    expect(cat['merger']!.entries).toBe(2);
    expect(cat['merger']!.realized).toBe(0);
    expect(cat['merger']!.unrealized).toBeCloseTo(eth.unrealized!, 9);
    const sum = (k: 'realized' | 'unrealized', b: { realized: number; unrealized: number }[]) =>
      b.reduce((n, x) => n + x[k], 0);
    expect(sum('realized', s.pnl_by_catalyst)).toBeCloseTo(s.pnl.realized, 9);
    expect(sum('realized', s.pnl_by_action)).toBeCloseTo(s.pnl.realized, 9);
    expect(s.pnl_by_action.map((b) => b.key)).toEqual(['enter long']);
    // Equity curve: the paper wallet, then the realized profit, then open positions at their last price.
    expect(s.equity_curve[0]!.equity).toBe(1000);
    expect(s.equity_curve.at(-1)!.equity).toBeCloseTo(1000 + s.pnl.realized + s.pnl.unrealized, 9);
  });

  it("rows say what `run` printed (headline, price, the specific reason); a position's entry excludes fees", async () => {
    const s = await snapshot();
    const bySeq = (n: number) => s.feed.find((r) => r.seq === n)!;
    expect(bySeq(4)).toMatchObject({ price: 150, info: false });
    expect(bySeq(4).text).toMatch(/0\.1 < 0\.5/); // the CLI's words, not only the catalogue's meaning
    expect(bySeq(4).headline).toEqual(expect.any(String));
    expect(bySeq(5).text).toMatch(/^buy [\d.]+ ETH\/USDT @ 3300 = [\d.]+ USDT$/);
    // Entry: what was paid per unit (fills at 3000 and 3300, fee_rate 0.001 apart), fees shown beside it.
    const buys = s.orders.filter((o) => o.market === 'ETH/USDT' && o.side === 'buy');
    const paid =
      buys.reduce((n, o) => n + o.filled * o.avg_price!, 0) / buys.reduce((n, o) => n + o.filled, 0);
    const eth = s.positions[0]!;
    expect(Math.abs(eth.entry - paid) / paid).toBeLessThan(1e-9);
    expect(eth.fees).toBeCloseTo(paid * eth.amount * 0.001, 6);
    expect(eth.cost).toBeCloseTo(eth.entry * eth.amount + eth.fees, 6);
  });

  it("a row's story: its decision, every order leg with fills and fees, and what the signal made", async () => {
    const s = await snapshot();
    const btc = s.feed.find((r) => r.seq === 1)!;
    const story = async (q: string) => http(`/api/story?${q}`, { headers: auth() });
    const r = await story(`epoch=${btc.epoch}&seq=1`);
    expect(r.status).toBe(200);
    const st = StorySchema.parse(JSON.parse(r.body));
    expect(st.decisions.map((d) => d.reason)).toEqual(['trade:entry']);
    expect(st.orders.map((o) => [o.leg, o.side, o.status])).toEqual([['entry', 'buy', 'filled']]);
    expect(st.orders[0]!.fee_quote).toBeGreaterThan(0);
    // Bought by this earnings signal, sold by the fda short (seq 3): the profit is this signal's, as in the buckets.
    const earnings = s.pnl_by_catalyst.find((b) => b.key === 'earnings')!;
    expect(st.pnl.realized).toBeCloseTo(earnings.realized, 9);
    expect(st.pnl.unrealized).toBeNull();
    const seller = StorySchema.parse(JSON.parse((await story(`epoch=${btc.epoch}&seq=3`)).body));
    expect(seller.pnl).toMatchObject({ realized: null, unrealized: null }); // it only sold: none of its own
    expect((await story(`epoch=${btc.epoch}&seq=999`)).status).toBe(404);
    expect((await story('seq=x')).status).toBe(400);
    expect((await http(`/api/story?epoch=${btc.epoch}&seq=1`)).status).toBe(401);
  });

  it('live feed: a new decision arrives as an event; a resume from a seq replays only what came after', async () => {
    const head = (await snapshot()).stream;
    const a = await openFeed();
    const hello = await a.waitFrame((f) => f['type'] === 'hello');
    expect(hello).toMatchObject({ epoch: head.epoch, head_seq: head.head_seq, authenticated: true });
    a.ws.send(JSON.stringify({ type: 'subscribe', from_seq: head.head_seq, epoch: head.epoch }));
    await a.waitFrame((f) => f['type'] === 'caught_up');
    await server.publish({ symbol: 'DOGE', price: 0.1, confidence: 0.2 });
    // Presence events (run's heartbeat and connection state) share the feed's seqs and may come first.
    const ev = (await a.waitFrame(
      (f) => f['type'] === 'event' && (f['event'] as { kind?: string }).kind === 'decision',
    )) as {
      event: { seq: number; kind: string; decision: { seq: number; reason: string } };
    };
    expect(ev.event.seq).toBeGreaterThan(head.head_seq);
    expect(ev.event.decision).toMatchObject({ seq: 6, reason: 'skipped:confidence' });
    a.ws.close();

    // Another page resuming from before that event gets exactly it again, once, then caught_up.
    const b = await openFeed();
    b.ws.send(JSON.stringify({ type: 'subscribe', from_seq: head.head_seq, epoch: head.epoch }));
    await b.waitFrame((f) => f['type'] === 'caught_up');
    const events = b.frames.filter((f) => f['type'] === 'event') as {
      event: { seq: number; kind: string };
    }[];
    const seqs = events.map((e) => e.event.seq);
    expect(seqs.every((q) => q > head.head_seq)).toBe(true);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(events.filter((e) => e.event.kind === 'decision').map((e) => e.event.seq)).toEqual([ev.event.seq]);
    // ... and a page from another dashboard start (other epoch) is told to reload, not fed.
    b.ws.send(JSON.stringify({ type: 'subscribe', from_seq: 0, epoch: 'dash-other' }));
    const sub = await b.waitFrame((f) => f['type'] === 'subscribed' && f['recovered'] === false);
    expect(sub['reason']).toBe('epoch_mismatch');
    b.ws.close();
  });

  it('pause needs the token, JSON and confirm: true; then the next signal is skipped with kill_switch', async () => {
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      http('/api/kill-switch', { method: 'POST', headers: { ...auth(), ...headers }, body });
    expect(
      (await http('/api/kill-switch', { method: 'POST', body: '{"on":true,"confirm":true}' })).status,
    ).toBe(401);
    expect((await post(JSON.stringify({ on: true }))).status).toBe(400);
    expect((await post('{"on":true,"confirm":true}', { 'content-type': 'text/plain' })).status).toBe(400);
    expect((await post(JSON.stringify({ on: true, confirm: true, reason: 'x'.repeat(5000) }))).status).toBe(
      413,
    );
    expect((await post(JSON.stringify({ on: true, confirm: true, reason: 'x'.repeat(201) }))).status).toBe(
      400,
    );
    const ok = await post(JSON.stringify({ on: true, confirm: true, reason: 'lunch' }));
    expect(JSON.parse(ok.body)).toEqual({ kill_switch: { on: true, reason: 'lunch' } });

    const applied = waitEvent(engine.engine.connection, 'applied', (seq: number) => seq === 7);
    await server.publish({ symbol: 'ADA', price: 1 });
    await applied;
    expect((await snapshot()).feed[0]).toMatchObject({ seq: 7, reason: 'skipped:kill_switch' });

    await post(JSON.stringify({ on: false, confirm: true }));
    expect((await snapshot()).kill_switch).toEqual({ on: false });
  });
});
