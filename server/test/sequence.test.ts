import { describe, expect, it } from 'vitest';
import { classification, startTestServer, tempDir } from './helpers/server.js';
import { openDb } from '../src/store/db.js';
import { SignalStore } from '../src/store/signals.js';
import { SqliteSequencer } from '../src/store/sequencer.js';

describe('sequencing', () => {
  it('20 concurrent publishers x 500 signals get seqs exactly 1..10000, each source_id once', async () => {
    const t = await startTestServer();
    const perPublisher = 500;
    const seqBySource = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 20 }, async (_, p) => {
        for (let i = 0; i < perPublisher; i++) {
          const c = classification(p * perPublisher + i);
          const res = await t.post(c);
          expect(res.status).toBe(201);
          seqBySource.set(c.source_id, (await res.json()).seq);
        }
      }),
    );
    const seqs = [...seqBySource.values()].sort((a, b) => a - b);
    expect(seqs.length).toBe(10_000);
    expect(seqs[0]).toBe(1);
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
    // And the store agrees with what was acknowledged.
    for (const [source, seq] of [...seqBySource].filter((_, i) => i % 997 === 0)) {
      expect(JSON.parse(t.server.driver.store.getJson(seq)!).source_id).toBe(source);
    }
    // Group commit did group: fewer transactions than signals.
    const metrics = await t.server.metrics.registry.getSingleMetricAsString(
      'catalyst_ingest_commit_batch_size',
    );
    const count = Number(/catalyst_ingest_commit_batch_size_count (\d+)/.exec(metrics)![1]);
    expect(count).toBeLessThan(10_000);
    // 10,000 POSTs: about 5 s alone, over 30 s on a 2-core machine at load 16 (a CI run beside other work).
  }, 120_000);

  it('a group pending when the database closes is refused, not thrown out of the event loop', async () => {
    const dir = tempDir();
    const a = await startTestServer({}, dir);
    await a.close();
    const db = openDb(dir);
    const seq = new SqliteSequencer(
      new SignalStore(db),
      () => undefined,
      () => undefined,
      undefined,
      100,
    );
    const pending = seq.submit([classification()]);
    db.close();
    await expect(pending).rejects.toThrow(/not open/);
  });

  it('continues the sequence after a restart, with the same epoch', async () => {
    const dir = tempDir();
    const a = await startTestServer({}, dir);
    for (let i = 0; i < 5; i++) await a.post(classification());
    const epoch = a.server.epoch;
    await a.close();
    const b = await startTestServer({}, dir);
    expect(b.server.epoch).toBe(epoch);
    expect((await (await b.post(classification())).json()).seq).toBe(6);
  });

  it('never reuses a seq after old rows are deleted, even all of them, across a restart', async () => {
    const dir = tempDir();
    const a = await startTestServer({}, dir);
    for (let i = 0; i < 10; i++) await a.post(classification());
    await a.close();
    const db = openDb(dir);
    db.prepare('DELETE FROM signals').run(); // harsher than any retention: every row gone
    db.close();
    const b = await startTestServer({}, dir);
    const res = await (await b.post(classification())).json();
    expect(res.seq).toBe(11);
    expect(b.server.driver.store.firstSeq()).toBe(11);
  });

  it('prune keeps the head and the newest row', async () => {
    const dir = tempDir();
    const a = await startTestServer({}, dir);
    for (let i = 0; i < 4; i++) await a.post(classification());
    const store = new SignalStore(openDb(dir));
    expect(store.pruneBefore(Date.now() + 60_000)).toBe(3);
    expect(store.firstSeq()).toBe(4);
    expect((await (await a.post(classification())).json()).seq).toBe(5);
  });

  it('a new database gets a new epoch', async () => {
    const a = await startTestServer();
    const b = await startTestServer();
    expect(a.server.epoch).not.toBe(b.server.epoch);
    expect(a.server.epoch).toMatch(/^[0-9a-f]{16}$/);
  });
});
