import { describe, expect, it, onTestFinished } from 'vitest';
import { ClassificationSchema } from '@catalyst-signal/shared';
import { sqliteLog, startServer, type LogDriverFactory } from '../src/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { loadConfig } from '../src/config.js';
import { sequence } from '../src/log/sequence.js';
import type { FanOut, SignalLogDriver, StoredSignal } from '../src/log/types.js';
import { createLogger } from '../src/logger.js';
import { openDb } from '../src/store/db.js';
import { SignalStore, SeqOrderError } from '../src/store/signals.js';
import { classification, tempDir } from './helpers/server.js';
import { connect } from './helpers/ws-client.js';

/** Signals sequenced elsewhere (what a gateway receives from the cluster log), seqs from..from+n-1. */
function sequenced(epoch: string, from: number, n: number): StoredSignal[] {
  const items = Array.from({ length: n }, (_, i) => ClassificationSchema.parse(classification(from + i)));
  return sequence(items, {
    head: from - 1,
    epoch,
    now: new Date(),
    seqOf: () => undefined,
    sign: () => 'sig',
  }).fresh;
}

/** A server on a driver built from the SQLite one, with a part of it taken away (a role). */
async function startWith<D extends SignalLogDriver>(driver: LogDriverFactory<D>) {
  const config = loadConfig({
    flags: { data_dir: tempDir(), port: 0, host: '127.0.0.1', log_level: 'silent' },
  });
  const server = await startServer(config, createLogger('silent'), { driver });
  onTestFinished(() => server.close());
  const key = (scope: 'read' | 'publish') => createApiKey(server.keys, scope, [scope]).key;
  const keys = { read: key('read'), publish: key('publish') };
  server.auth.refresh();
  const req = (method: string, p: string, k: string, body?: unknown) =>
    fetch(`${server.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return { server, keys, req };
}

describe('SignalStore.insert: already-sequenced signals only', () => {
  it('stores seqs that continue the head and refuses a gap or a reuse, storing nothing of that call', () => {
    const store = new SignalStore(openDb(tempDir()));
    expect(() => store.insert(sequenced(store.epoch, 2, 1))).toThrow(SeqOrderError);
    expect(store.head).toBe(0);
    store.insert(sequenced(store.epoch, 1, 3));
    expect(store.head).toBe(3);
    expect(() => store.insert(sequenced(store.epoch, 3, 2))).toThrow(SeqOrderError); // 3 again, then 4
    expect(store.head).toBe(3);
    expect(store.getJson(4)).toBeUndefined();
    expect(store.rowsAfter(0, 10).map((r) => r.seq)).toEqual([1, 2, 3]);
  });
});

describe('a server assembled from a driver passed in', () => {
  it('a reader without a sequencer (gateway shape): no POST, history and WS replay -> live from what it applies', async () => {
    let apply: ((fresh: StoredSignal[]) => void) | undefined;
    const { server, keys, req } = await startWith(async (ctx) => {
      const base = await sqliteLog(ctx);
      let fanOut: FanOut | undefined;
      // What a gateway does with signals sequenced elsewhere: store, then publish, in one synchronous step.
      apply = (fresh) => {
        base.store.insert(fresh);
        fanOut?.publish(fresh);
      };
      return {
        kind: 'replica',
        reader: base.reader,
        sequencer: undefined,
        attach: (f) => (fanOut = f),
        notReady: () => base.notReady(),
        close: () => base.close(),
      } satisfies SignalLogDriver;
    });
    apply!(sequenced(server.epoch, 1, 5));

    const post = await req('POST', '/v1/signals', keys.publish, classification());
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    const page = await (await req('GET', '/v1/signals', keys.read)).json();
    expect(page.signals.map((s: { seq: number }) => s.seq)).toEqual([1, 2, 3, 4, 5]);

    const ws = connect(server.wsUrl, keys.read);
    await ws.frame('hello');
    ws.send({ type: 'subscribe', from_seq: 2 });
    await ws.frame('caught_up');
    apply!(sequenced(server.epoch, 6, 2));
    await ws.until(() => ws.signals().length === 5, 5000, 'seqs 3..7');
    expect(ws.signals().map((s) => s.seq)).toEqual([3, 4, 5, 6, 7]);
  });

  it('a sequencer without a reader (ingest shape): POST works, no history routes, no WebSocket edge', async () => {
    const { server, keys, req } = await startWith(async (ctx) => {
      const base = await sqliteLog(ctx);
      return {
        kind: 'ingest',
        reader: undefined,
        sequencer: base.sequencer,
        attach: () => {
          throw new Error('an ingest node has no fan-out');
        },
        notReady: () => base.notReady(),
        close: () => base.close(),
      } satisfies SignalLogDriver;
    });
    expect(server.stream).toBeUndefined();
    const post = await req('POST', '/v1/signals', keys.publish, classification());
    expect(post.status).toBe(201);
    expect((await post.json()).seq).toBe(1);
    const history = await req('GET', '/v1/signals', keys.read);
    expect(history.status).toBe(405);
    expect(history.headers.get('allow')).toBe('POST');
    expect((await req('GET', '/v1/signals/1', keys.read)).status).toBe(404);
    expect((await (await req('GET', '/healthz', keys.read)).json()).head_seq).toBe(1);
  });
});
