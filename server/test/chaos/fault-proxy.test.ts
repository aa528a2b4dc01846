import { describe, expect, it, onTestFinished } from 'vitest';
import { FaultProxy, type FaultMode } from '../helpers/fault-proxy.js';
import { OpenLoopPublisher } from '../helpers/publishers.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const HEARTBEAT_MS = 200;
/**
 * Tests that assert "no reconnect" use a longer heartbeat: with 200 ms, a busy machine that stalls the test
 * process for 400 ms makes the client's watchdog reconnect, which is right for a client and wrong for the test.
 */
const CALM_HEARTBEAT_MS = 1000;

interface Rig {
  t: TestServer;
  proxy: FaultProxy;
  client: ResumingStream;
  publisher: OpenLoopPublisher;
}

/** Server (heartbeat 200 ms) <- proxy <- resuming client; an open-loop publisher posts directly to the server. */
async function rig(
  seed: number,
  mode: FaultMode = { kind: 'pass' },
  heartbeatMs = HEARTBEAT_MS,
): Promise<Rig> {
  const t = await startTestServer({
    heartbeat_ms: heartbeatMs,
    ws_max_per_key: 200,
    ws_connections_per_ip: 100_000,
  });
  for (let i = 0; i < seed; i += 100) {
    const res = await t.post(Array.from({ length: Math.min(100, seed - i) }, (_, j) => ({ ...fat(i + j) })));
    expect(res.status).toBe(201);
  }
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: t.server.port }, mode);
  onTestFinished(() => proxy.close());
  const client = new ResumingStream({
    url: () => proxy.wsUrl,
    key: t.readKey,
    epoch: t.server.epoch,
    heartbeatMs,
    backoffMs: [5, 100],
  }).start();
  onTestFinished(() => client.stop());
  const publisher = new OpenLoopPublisher({
    name: 'fp',
    url: () => t.url,
    key: t.publishKey,
    ratePerS: 200,
  }).start();
  onTestFinished(() => publisher.stop());
  return { t, proxy, client, publisher };
}

function fat(i: number) {
  return {
    source_id: `fp-seed-${i}-${Math.random().toString(36).slice(2, 8)}`,
    symbol: 'AAPL',
    catalyst: 'earnings',
    direction: 'long' as const,
    confidence: 0.5,
    price: 10,
    headline: `seed ${i} ${'h'.repeat(300)}`,
    classified_at: new Date().toISOString(),
  };
}

/** Heal the path, stop publishing, and require the client to hold exactly 1..head, once each, in order. */
async function settle({ t, proxy, client, publisher }: Rig): Promise<void> {
  proxy.setMode({ kind: 'pass' });
  await publisher.stop();
  expect(publisher.count('acked')).toBeGreaterThan(0);
  expect(publisher.count('unknown') + publisher.count('refused')).toBe(0);
  const head = t.server.driver.store.head;
  await client.until(() => client.last >= head, 20_000, `client at head ${head}`);
  expect({
    dups: client.duplicates,
    gaps: client.gaps,
    unrecovered: client.unrecovered,
    badEpoch: client.badEpoch,
  }).toEqual({ dups: 0, gaps: [], unrecovered: 0, badEpoch: 0 });
  expect(client.applied).toEqual(Array.from({ length: head }, (_, i) => i + 1));
}

describe('fault-injecting proxy between a resuming client and the real server', () => {
  it('pass: the proxy itself is transparent', async () => {
    const r = await rig(200, { kind: 'pass' }, CALM_HEARTBEAT_MS);
    // Past the seeded 200: at least one live, published signal went through the proxy.
    await r.client.until(() => r.client.last > 200);
    await settle(r);
    expect(r.client.connects).toBe(1);
  });

  it('close after N bytes (mid-frame, no close frame), on every connection: resumes each time, nothing lost or doubled', async () => {
    const bytes = 3000 + Math.floor(Math.random() * 9000);
    const r = await rig(400, { kind: 'close-after-bytes', bytes });
    // Each connection carries hello + subscribed + a few signals, then is cut: many resumes to get 400.
    await r.client.until(
      () => r.client.last >= 400 && r.client.connects >= 5,
      20_000,
      'replay through repeated closes',
    );
    expect(r.proxy.stats.closedAfterBytes).toBeGreaterThanOrEqual(4);
    await settle(r);
    console.log(
      `[chaos] close-after-${bytes}-bytes: ${r.client.connects} connections, ${r.proxy.stats.closedAfterBytes} closed mid-stream`,
    );
  });

  it('cut without close frame (RST both sockets) while live: resumes, nothing lost or doubled', async () => {
    const r = await rig(100);
    let connects = 0;
    for (let i = 0; i < 5; i++) {
      const at = r.client.last;
      // A NEW connection that made progress (frames already in flight may still arrive on the cut one).
      await r.client.until(
        () => r.client.connects > connects && r.client.connected && r.client.last >= at + 10,
        10_000,
        'live progress',
      );
      connects = r.client.connects;
      expect(r.proxy.cut(), `cut ${i}`).toBe(1);
    }
    await r.client.until(() => r.client.connects > connects, 10_000, 'reconnect after the last cut');
    await settle(r);
    expect(r.client.connects).toBeGreaterThanOrEqual(6);
    expect(r.client.closes.filter((c) => c.code === 1006).length).toBeGreaterThanOrEqual(5);
  });

  it('stall (half-open: sockets kept, nothing forwarded) is detected by missing heartbeats within 2 intervals', async () => {
    const r = await rig(50);
    await r.client.until(() => r.client.connected && r.client.last >= 60, 10_000, 'live');
    expect(r.client.watchdogFirings).toEqual([]);
    const connectsBefore = r.client.connects;
    const stalledAt = Date.now();
    r.proxy.setMode({ kind: 'stall' });
    const firedAt = await r.client.until(
      () => r.client.watchdogFirings.find((f) => f >= stalledAt),
      5000,
      'watchdog',
    );
    // Nothing but the watchdog noticed: the TCP connection was still open until the client dropped it.
    expect(r.client.closes.filter((c) => c.at >= stalledAt && c.at < firedAt)).toEqual([]);
    expect(firedAt - stalledAt).toBeLessThanOrEqual(2 * HEARTBEAT_MS);
    r.proxy.setMode({ kind: 'pass' });
    await r.client.until(() => r.client.connects > connectsBefore, 5000, 'reconnect');
    await settle(r);
    console.log(`[chaos] stall detected after ${firedAt - stalledAt} ms (heartbeat ${HEARTBEAT_MS} ms)`);
  });

  it('delay (50 ms each way): no false stall detection, nothing lost or doubled', async () => {
    const r = await rig(300, { kind: 'delay', ms: 50 }, CALM_HEARTBEAT_MS);
    await r.client.until(
      () => r.client.last >= 300 && r.client.serverHead > 300,
      10_000,
      'catch up through the delay',
    );
    await settle(r);
    expect(r.client.watchdogFirings).toEqual([]);
    expect(r.client.connects).toBe(1);
  });

  it('writes split into random 1..7 byte pieces (handshake and frames): the server reassembles, nothing lost', async () => {
    const r = await rig(100, { kind: 'chunk', maxBytes: 7 }, CALM_HEARTBEAT_MS);
    await r.client.until(() => r.client.last >= 100, 15_000, 'replay through tiny chunks');
    await settle(r);
    expect(r.client.connects).toBe(1);
  });

  it('all faults in sequence on one client', async () => {
    const r = await rig(100);
    const progress = async (n = 5) => {
      const at = r.client.last;
      await r.client.until(() => r.client.last >= at + n, 10_000, 'progress before the next fault');
    };
    await progress();
    r.proxy.setMode({ kind: 'chunk', maxBytes: 3 });
    await progress();
    r.proxy.cut();
    await progress();
    r.proxy.setMode({ kind: 'delay', ms: 20 });
    await progress();
    r.proxy.setMode({ kind: 'close-after-bytes', bytes: 2500 });
    await progress(30);
    r.proxy.setMode({ kind: 'pass' });
    await progress();
    const stalledAt = Date.now();
    r.proxy.setMode({ kind: 'stall' });
    await r.client.until(() => r.client.watchdogFirings.some((f) => f >= stalledAt), 5000, 'stall detected');
    r.proxy.setMode({ kind: 'pass' });
    await progress();
    await settle(r);
  });
});
