import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode, ErrorCode } from '@catalyst-signal/shared';
import type { DashboardEvent } from '../src/dashboard/api.js';
import { DashboardFeed } from '../src/dashboard/feed.js';
import { DashboardStream } from '../src/dashboard/stream.js';
import { Journal } from '../src/journal/index.js';
import { waitEvent } from './helpers/wait.js';

// The dashboard feed's WebSocket side speaks the signal protocol's catalogue: its error frames carry ErrorCode
// codes and a page that stops reading is closed with the catalogue's slow-consumer code, like the server does.

let dir: string;
let journal: Journal;
let feed: DashboardFeed;
let stream: DashboardStream;
let http: Server;
let port: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-dstream-'));
  journal = Journal.open(join(dir, 'journal.sqlite'));
  feed = new DashboardFeed(journal);
  stream = new DashboardStream(feed, 60_000);
  http = createServer();
  http.on('upgrade', (req, socket, head) => stream.accept(req, socket, head));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  port = (http.address() as AddressInfo).port;
});
afterEach(async () => {
  stream.close();
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['catalyst.v1']);
  const frames: Record<string, unknown>[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
  await waitEvent(ws, 'open');
  const next = async (pred: (f: Record<string, unknown>) => boolean) => {
    while (!frames.some(pred)) await waitEvent(ws, 'message');
    const f = frames.find(pred)!;
    frames.splice(frames.indexOf(f), 1);
    return f;
  };
  await next((f) => f['type'] === 'hello');
  return { ws, next };
}

describe('dashboard stream: the protocol catalogue', () => {
  it('answers what it does not serve with error codes from ErrorCode', async () => {
    const { ws, next } = await open();
    const codes = new Set<string>(Object.values(ErrorCode));
    const err = () => next((f) => f['type'] === 'error');
    ws.send('not json');
    expect((await err())['code']).toBe(ErrorCode.badJson);
    ws.send(JSON.stringify({ type: 'nope' }));
    expect((await err())['code']).toBe(ErrorCode.badFrame);
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await err())['code']).toBe(ErrorCode.binaryFrame);
    ws.send(JSON.stringify({ type: 'status' }));
    const status = await err();
    ws.send(JSON.stringify({ type: 'subscribe', filters: { symbols: ['BTC'] } }));
    const filters = await err();
    for (const f of [status, filters]) expect(codes.has(f['code'] as string), String(f['code'])).toBe(true);
    ws.close();
  });

  it('a page that stops reading is closed with slow_consumer (4009)', async () => {
    const { ws, next } = await open();
    ws.send(JSON.stringify({ type: 'subscribe' }));
    await next((f) => f['type'] === 'caught_up');
    ws.pause(); // the page stops reading: the dashboard's send buffer grows
    const ev = (seq: number): DashboardEvent => ({
      kind: 'kill_switch',
      seq,
      epoch: feed.epoch,
      at: 0,
      kill_switch: { on: true, reason: 'x'.repeat(290) },
    });
    // Far more than the kernel's socket buffers plus the 1 MiB limit.
    for (let b = 0; b < 60; b++) stream.broadcast(Array.from({ length: 1000 }, (_, i) => ev(b * 1000 + i)));
    const closed = waitEvent<[number, Buffer]>(ws, 'close');
    ws.resume();
    const [code, reason] = await closed;
    expect([code, reason.toString()]).toEqual([CloseCode.slowConsumer.code, CloseCode.slowConsumer.reason]);
  });
});
