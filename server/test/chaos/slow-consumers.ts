import { expect } from 'vitest';
import { ChildServer } from '../helpers/child-server.js';
import { Op, RawWs } from '../helpers/raw-ws.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { classification } from '../helpers/server.js';

export interface SlowConsumerResult {
  slowClients: number;
  closedAsSlow: number;
  closedHard: number;
  baselineRss: number;
  peakRss: number;
  signals: number;
  ms: number;
}

const BACKPRESSURE = 64 * 1024;
const MB = 1024 * 1024;

async function metric(url: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${label}`) && !l.startsWith('#'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * `n` clients subscribe and never read while fat signals flow (~4 MB/s); two ordinary readers run beside
 * them. Every slow client must be closed as a slow consumer (4009, counted in metrics), the readers must
 * stay connected and get every seq once, and the server's RSS must stay under `rssBoundBytes`.
 */
export async function runSlowConsumers(n: number, rssBoundBytes: number): Promise<SlowConsumerResult> {
  const started = Date.now();
  const server = await ChildServer.start({
    config: {
      ws_max_backpressure_bytes: BACKPRESSURE,
      ws_max_per_key: n + 10,
      ws_connections_per_ip: n + 100,
      heartbeat_ms: 1000,
    },
  });
  const readers = [0, 1].map(() =>
    new ResumingStream({ url: () => server.wsUrl, key: server.keys.readKey }).start(),
  );
  await Promise.all(
    readers.map((r) => r.until(() => r.subscribes > 0 && r.connected, 10_000, 'reader subscribed')),
  );
  const baselineRss = server.rss();
  const slow: RawWs[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () => RawWs.open(server.port, server.keys.readKey)),
    );
    for (const r of batch) {
      r.send({ opcode: Op.text, payload: JSON.stringify({ type: 'subscribe' }) });
      r.socket.pause(); // never read again
      slow.push(r);
    }
  }
  let peakRss = server.rss();
  let signals = 0;
  let inFlight = 0;
  const fat = (i: number) =>
    classification(i, { headline: 'h'.repeat(400), meta: { pad: 'p'.repeat(3500) } });
  // Open loop: a 20-signal batch every 20 ms, whatever the server does (bounded in flight).
  const timer = setInterval(() => {
    if (inFlight >= 8) return;
    inFlight++;
    const body = JSON.stringify(Array.from({ length: 20 }, (_, j) => fat(signals + j)));
    void fetch(`${server.url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.keys.publishKey}` },
      body,
    })
      .then(async (res) => {
        expect(res.status).toBe(201);
        signals += ((await res.json()) as { results: unknown[] }).results.length;
      })
      .finally(() => inFlight--);
  }, 20);
  try {
    let connected = Infinity;
    // Bounded polling of /metrics (and RSS) until only the two readers are left.
    for (let i = 0; i < 600 && connected > 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peakRss = Math.max(peakRss, server.rss());
      connected = await metric(server.url, 'catalyst_ws_connected');
    }
    expect(connected, `still connected after the wait (slow clients ${n})`).toBe(2);
  } finally {
    clearInterval(timer);
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  const closedAsSlow = await metric(server.url, 'catalyst_ws_closes_total', '{reason="slow_consumer"}');
  // uWS's hard limit (2x) can trip between two 250 ms sweeps when data flows fast: closed without 4009.
  const closedHard = await metric(server.url, 'catalyst_ws_closes_total', '{reason="abnormal"}');
  const head = ((await (await fetch(`${server.url}/healthz`)).json()) as { head_seq: number }).head_seq;
  for (const r of readers) {
    await r.until(() => r.last >= head, 30_000, `reader at ${head}`);
    expect({ connects: r.connects, dups: r.duplicates, gaps: r.gaps.length }).toEqual({
      connects: 1,
      dups: 0,
      gaps: 0,
    });
    r.stop();
  }
  for (const s of slow) s.socket.destroy();
  expect(closedAsSlow + closedHard).toBe(n);
  expect(peakRss, `peak RSS ${(peakRss / MB).toFixed(0)} MB`).toBeLessThan(rssBoundBytes);
  const result = {
    slowClients: n,
    closedAsSlow,
    closedHard,
    baselineRss,
    peakRss,
    signals: head,
    ms: Date.now() - started,
  };
  console.log(
    `[chaos] slow-consumers clients=${n} closed_4009=${closedAsSlow} closed_by_uws_hard_limit=${closedHard} signals=${head} rss_baseline=${(baselineRss / MB).toFixed(0)}MB ` +
      `rss_peak=${(peakRss / MB).toFixed(0)}MB bound=${(rssBoundBytes / MB).toFixed(0)}MB ms=${result.ms}`,
  );
  await server.kill('SIGTERM');
  return result;
}
