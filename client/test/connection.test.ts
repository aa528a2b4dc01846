import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import { Connection, backoffDelay, type VerifyResult } from '../src/connection.js';
import { Journal } from '../src/journal/index.js';
import { OVERSIZE_FRAME, WS_MAX_PAYLOAD_BYTES } from '../src/limits.js';
import { createVerifier } from '../src/verify.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { baseSignal } from './helpers/signals.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { waitEvent } from './helpers/wait.js';

let server: FakeSignalServer;
let dir: string;
let journal: Journal;
let conn: Connection | undefined;
let applied: { seq: number; verified: VerifyResult }[];
let log: Logger;

async function connect(over: Parameters<typeof testConfig>[0] = {}): Promise<Connection> {
  const config = testConfig({
    server: {
      url: server.url,
      start_from: 'all',
      heartbeat_misses: 2,
      reconnect: { initial_delay_ms: 20, max_delay_ms: 100 },
    },
    ...over,
  });
  const verify = await createVerifier(server.signer.jwk);
  conn = new Connection({
    baseUrl: server.url,
    key: server.key,
    server: config.server,
    verify,
    cursor: journal,
    log,
    apply: async (signal: Signal, verified: VerifyResult, receivedAt: number) => {
      applied.push({ seq: signal.seq, verified });
      journal.recordDecision({
        signal,
        receivedAt,
        decidedAt: receivedAt,
        decision: { verdict: 'skip', reason: 'skipped:action_info', legs: [] },
        intents: [],
      });
    },
  });
  conn.start();
  return conn;
}

const waitApplied = (c: Connection, seq: number) => waitEvent<[number]>(c, 'applied', (s) => s >= seq);

beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 200 });
  dir = mkdtempSync(join(tmpdir(), 'cc-conn-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
  applied = [];
  log = testLog;
});
afterEach(async () => {
  await conn?.stop();
  conn = undefined;
  journal.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('connection', () => {
  it('replays retained signals then live ones, in order, each verified once; a bad signature is never applied', async () => {
    for (let i = 0; i < 3; i++) await server.publish();
    const c = await connect();
    await waitApplied(c, 3);
    await server.publish();
    await waitApplied(c, 4);
    const fatal = waitEvent<[Error & { code: string }]>(c, 'fatal');
    await server.publish({}, { badSig: true });
    const [e] = await fatal;
    // The only gateway served seq 5 bad: not applied, not skipped, trading stops.
    expect(e.code).toBe('bad_signature');
    expect(e.message).toContain('signal seq 5 failed verification');
    expect(applied.map((a) => a.seq)).toEqual([1, 2, 3, 4]);
    expect(applied.every((a) => a.verified.ok)).toBe(true);
    expect(journal.cursor()).toEqual({ epoch: 'ep-test', seq: 4 });
    expect(server.subscribes[0]).toEqual({ from_seq: 0, epoch: 'ep-test' });
  });

  it('a fresh install with start_from=head skips history', async () => {
    for (let i = 0; i < 3; i++) await server.publish();
    const c = await connect({ server: { url: server.url, start_from: 'head' } });
    await waitEvent(c, 'subscribed');
    await server.publish();
    await waitApplied(c, 4);
    expect(applied.map((a) => a.seq)).toEqual([4]);
  });

  it('detects a seq gap on the wire and re-subscribes from the last applied seq', async () => {
    const c = await connect();
    await waitEvent(c, 'subscribed');
    server.dropLive.add(2);
    await server.publish();
    const gap = waitEvent<[{ via: string }]>(c, 'gap');
    await server.publish(); // 2, dropped
    await server.publish(); // 3 arrives after 1: gap
    expect((await gap)[0].via).toBe('seq');
    await waitApplied(c, 3);
    expect(applied.map((a) => a.seq)).toEqual([1, 2, 3]);
    expect(server.subscribes.at(-1)).toEqual({ from_seq: 1, epoch: 'ep-test' });
  });

  it('detects a lost last signal through the heartbeat head_seq', async () => {
    const c = await connect();
    await waitEvent(c, 'caught_up');
    server.dropLive.add(1);
    await server.publish();
    const [g] = await waitEvent<[{ via: string }]>(c, 'gap');
    expect(g.via).toBe('heartbeat');
    await waitApplied(c, 1);
    expect(applied.map((a) => a.seq)).toEqual([1]);
  });

  it('reconnects after two silent heartbeat intervals and resumes', async () => {
    await server.publish();
    const c = await connect();
    await waitApplied(c, 1);
    server.heartbeatsOn = false;
    const silent = waitEvent(c, 'silence');
    const t0 = Date.now();
    await silent;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    server.heartbeatsOn = true;
    await waitEvent(server, 'connection', (n: number) => n >= 2);
    await server.publish();
    await waitApplied(c, 2);
    expect(server.subscribes.at(-1)?.from_seq).toBe(1);
  });

  it('going away (1001) -> reconnect and resume; revoked (4003) -> fatal, no reconnect', async () => {
    await server.publish();
    const c = await connect();
    await waitApplied(c, 1);
    const rec = waitEvent(c, 'reconnecting');
    server.closeAll(1001, 'going away');
    await rec;
    await waitEvent(server, 'subscribe', (f: { from_seq: number }) => f.from_seq === 1);
    const fatal = waitEvent<[Error & { code: string }]>(c, 'fatal');
    server.closeAll(4003, 'key revoked');
    expect((await fatal)[0].code).toBe('auth');
    expect(server.connections).toBe(2);
  });

  it('a wrong key is fatal at the upgrade', async () => {
    const config = testConfig({ server: { url: server.url } });
    conn = new Connection({
      baseUrl: server.url,
      key: 'cat_wrong',
      server: config.server,
      verify: await createVerifier(server.signer.jwk),
      cursor: journal,
      log: testLog,
      apply: async () => undefined,
    });
    const fatal = waitEvent<[Error & { code: string }]>(conn, 'fatal');
    conn.start();
    expect((await fatal)[0].code).toBe('auth');
  });

  it('stops loudly when the server epoch changes', async () => {
    await server.publish();
    const c = await connect();
    await waitApplied(c, 1);
    server.reset('ep-new');
    await server.publish();
    const fatal = waitEvent<[Error & { code: string }]>(c, 'fatal');
    server.closeAll(1001);
    expect((await fatal)[0].code).toBe('epoch_changed');
    expect(applied.map((a) => a.seq)).toEqual([1]);
  });

  it('trimmed history: pages REST from the cursor when it can, else accepts and journals the gap', async () => {
    for (let i = 0; i < 5; i++) await server.publish();
    journal.setCursor('ep-test', 1);
    server.trim(2); // the socket refuses from_seq 1; REST still has 3..5, 2 is gone
    const c = await connect();
    await waitApplied(c, 5);
    expect(applied.map((a) => a.seq)).toEqual([3, 4, 5]);
    expect(journal.gaps()).toMatchObject([{ from_seq: 2, to_seq: 2 }]);
    await c.stop();

    // Now REST is down too: accept the gap up to first_seq - 1 and continue.
    for (let i = 0; i < 3; i++) await server.publish(); // 6..8
    server.trim(7);
    server.historyAvailable = false;
    const c2 = await connect();
    await waitApplied(c2, 8);
    expect(applied.map((a) => a.seq)).toEqual([3, 4, 5, 8]);
    expect(journal.gaps()[0]).toMatchObject({ from_seq: 6, to_seq: 7 });
  });

  it('a history endpoint that never advances is abandoned and retried with backoff, not polled in a loop', async () => {
    await server.close();
    server = await FakeSignalServer.start({ heartbeatMs: 200, maxReplay: 2 });
    for (let i = 0; i < 6; i++) await server.publish();
    journal.setCursor(server.epoch, 1); // 5 behind > max_replay 2: too_far_behind, so the client pages REST
    server.historyStuck = true; // every page is [seq 1]: nothing past the cursor, ever
    const c = await connect();
    let reconnects = 0;
    await waitEvent(c, 'reconnecting', () => ++reconnects >= 2);
    // One history request per connection attempt, not a tight loop; nothing applied, no gap invented.
    expect(server.historyRequests).toBeLessThanOrEqual(server.connections);
    expect(applied).toEqual([]);
    expect(journal.gaps()).toEqual([]);
    server.historyStuck = false; // the server heals: the next attempt catches up through REST
    await waitApplied(c, 6);
    expect(applied.map((a) => a.seq)).toEqual([2, 3, 4, 5, 6]);
  });

  it('too_far_behind: pages REST history through the same path, then streams live, no gap', async () => {
    await server.close();
    server = await FakeSignalServer.start({ heartbeatMs: 200, maxReplay: 2 });
    for (let i = 0; i < 6; i++) await server.publish();
    const c = await connect();
    await waitApplied(c, 6);
    await server.publish();
    await waitApplied(c, 7);
    expect(applied.map((a) => a.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(journal.gaps()).toEqual([]);
    expect(server.subscribes.map((x) => x.from_seq)).toEqual([0, 6]);
  });

  it('a frame over WS_MAX_PAYLOAD_BYTES: that socket is dropped with the reason logged, nothing from it applied, the stream goes on', async () => {
    const lines: { level: number; msg: string; url?: string }[] = [];
    log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    await server.publish();
    const c = await connect();
    await waitApplied(c, 1);
    // Seq 2, validly signed, but carrying an unknown field that makes its frame 1 MiB + : read, it would verify.
    const big = await server.signer.sign(
      baseSignal(2, { epoch: server.epoch, pad: 'x'.repeat(WS_MAX_PAYLOAD_BYTES) } as Partial<Signal>),
    );
    const rec = waitEvent<[{ why: string; url: string }]>(c, 'reconnecting');
    server.sendRaw(JSON.stringify({ type: 'signal', signal: big }));
    const [r] = await rec;
    expect(r.why).toBe(OVERSIZE_FRAME);
    expect(r.why).toContain(`frame over ${WS_MAX_PAYLOAD_BYTES} bytes`);
    expect(r.url).toBe(`ws://${new URL(server.url).host}/v1/stream`);
    // One error line naming the URL and the bound, besides the usual reconnect warning.
    const said = lines.filter((l) => l.msg.includes(`frame over ${WS_MAX_PAYLOAD_BYTES} bytes`));
    expect(said.find((l) => l.level === 50)?.msg).toContain(r.url);
    // It reconnects and resumes from seq 1; the genuine seq 2 is applied, the oversize one never was.
    await waitEvent(server, 'subscribe', (f: { from_seq: number }) => f.from_seq === 1);
    await server.publish();
    await waitApplied(c, 2);
    expect(applied.map((a) => a.seq)).toEqual([1, 2]);
    const two = journal.decisions({ limit: 10 }).find((d) => d.seq === 2)!;
    expect(JSON.parse(two.signal)).not.toHaveProperty('pad');
    expect(two.signal).not.toContain(big.source_id);
  });

  it('backoff: exponential, capped, full jitter within [0, cap]', () => {
    const r = testConfig({}).server.reconnect;
    expect([0, 1, 2, 10].map((n) => backoffDelay(n, { ...r, jitter: 'none' }))).toEqual([
      500, 1000, 2000, 30000,
    ]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, u) => {
          const d = backoffDelay(n, r, () => u);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(Math.min(30000, 500 * 2 ** n));
        },
      ),
    );
  });
});
