import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChildServer } from '../helpers/child-server.js';
import { Op, RawWs } from '../helpers/raw-ws.js';
import { INVALID_UTF8, wsText } from './arbitraries.js';

const MB = 1024 * 1024;
const PEAK_BOUND = 300 * MB;
const GROWTH_BOUND = 64 * MB;

/** Send texts on one socket, then a ping; resolve on its pong or on the close (4400 after 6 bad frames). */
function session(wsUrl: string, key: string, texts: string[]): Promise<number | 'pong'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl}/v1/stream`, { headers: { authorization: `Bearer ${key}` } });
    const timer = setTimeout(() => (ws.terminate(), reject(new Error('session timed out'))), 10_000);
    ws.on('error', () => undefined);
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; id?: unknown };
      if (f.type === 'hello') {
        for (const t of texts) ws.send(t);
        ws.send(JSON.stringify({ type: 'ping', id: 'end' }));
      }
      if (f.type === 'pong' && f.id === 'end') {
        clearTimeout(timer);
        ws.terminate();
        resolve('pong');
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('bad input at volume against a child-process server: no crash, bounded memory', () => {
  it('12k+ WebSocket inputs and 3k REST bodies: server alive, RSS peak and growth bounded', async () => {
    const server = await ChildServer.start({
      config: {
        ws_frames_per_s: 1_000_000,
        ws_max_per_key: 100_000,
        ws_connections_per_ip: 10_000_000,
        rest_publish_per_min: 10_000_000,
        auth_failures_per_min: 10_000_000,
      },
    });
    const key = server.keys.readKey;
    const samples: number[] = [server.rss()];
    let inputs = 0;
    let warm = 0;
    const texts = fc.sample(wsText(16 * 1024), { numRuns: 12_000, seed: 7 });
    const closes = new Map<string, number>();
    for (let i = 0; i < texts.length; i += 8) {
      const r = await session(server.wsUrl, key, texts.slice(i, i + 8));
      closes.set(String(r), (closes.get(String(r)) ?? 0) + 1);
      inputs += Math.min(8, texts.length - i);
      if (i % 400 === 0) samples.push(server.rss());
      if (!warm && inputs >= 1000) warm = server.rss();
    }
    // Raw protocol abuse: invalid UTF-8, binary, oversize, lying lengths.
    for (let i = 0; i < 600; i++) {
      const r = await RawWs.open(server.port, key);
      const kind = i % 4;
      if (kind === 0) r.send({ opcode: Op.text, payload: INVALID_UTF8[i % INVALID_UTF8.length]! });
      if (kind === 1) r.send({ opcode: Op.binary, payload: Buffer.alloc(1000, i) });
      if (kind === 2) r.send({ opcode: Op.text, payload: Buffer.alloc(20_000, 0x20) });
      if (kind === 3) r.send({ opcode: Op.text, payload: 'x', lengthOverride: 50_000_000n });
      if (kind !== 1 && kind !== 3) await r.closed();
      r.socket.destroy();
      inputs++;
      if (i % 100 === 0) samples.push(server.rss());
    }
    // REST: the same hostile texts as bodies.
    const statuses = new Map<number, number>();
    for (const body of texts.slice(0, 3000)) {
      const res = await fetch(`${server.url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.keys.publishKey}` },
        body,
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status).toBeLessThan(500);
      inputs++;
      if (inputs % 500 === 0) samples.push(server.rss());
    }
    samples.push(server.rss());
    expect(server.running, 'server process alive').toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const peak = Math.max(...samples);
    const last = samples.at(-1)!;
    console.log(
      `[fuzz] inputs=${inputs} crashes=0 ws_outcomes=${JSON.stringify(Object.fromEntries(closes))} rest_statuses=${JSON.stringify(Object.fromEntries(statuses))} ` +
        `rss_start=${(samples[0]! / MB).toFixed(0)}MB rss_warm=${(warm / MB).toFixed(0)}MB rss_peak=${(peak / MB).toFixed(0)}MB rss_end=${(last / MB).toFixed(0)}MB ` +
        `bounds: peak<${PEAK_BOUND / MB}MB growth_after_warmup<${GROWTH_BOUND / MB}MB`,
    );
    expect(inputs).toBeGreaterThan(10_000);
    expect(peak).toBeLessThan(PEAK_BOUND);
    expect(last - warm).toBeLessThan(GROWTH_BOUND);
    const check = server.dbCheck();
    expect(check.ok, check.output).toBe(true);
  });
});
