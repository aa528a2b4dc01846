import { describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { getMeta, openDb } from '../../src/store/db.js';
import {
  CLUSTER_EPOCH_KEY,
  Divergence,
  Replica,
  ReplicaOrderError,
  ReplicaPayloadError,
} from '../../src/store/replica.js';
import { SignalStore } from '../../src/store/signals.js';
import { startTestServer, tempDir } from '../helpers/server.js';
import { SignedLog } from './signed-log.js';

describe('gateway replica', () => {
  it('applies sequenced signals in order, verbatim, under the cluster epoch', async () => {
    const log = await SignedLog.create();
    const dir = tempDir();
    const db = openDb(dir);
    const r = Replica.open(db, log.epoch);
    expect(r.epoch).toBe(log.epoch);
    expect(getMeta(db, CLUSTER_EPOCH_KEY)).toBe(log.epoch);
    const a = log.next(3);
    const b = log.next(200);
    expect(r.applySequenced(a).map((s) => s.signal.seq)).toEqual([1, 2, 3]);
    const stored = r.applySequenced(b);
    expect(stored.map((s) => s.json)).toEqual(b);
    expect(r.applied).toBe(203);
    for (const seq of [1, 3, 4, 100, 203]) expect(r.store.getJson(seq)).toBe(log.json(seq));
    // The single-node readers see it as a log like any other.
    expect(r.store.history({ after_seq: 0, limit: 1000 } as never).bodies).toEqual([...a, ...b]);
    expect(r.store.firstSeq()).toBe(1);
    db.close();
    // A restart reads the same head back.
    const again = Replica.open(openDb(dir), log.epoch);
    expect(again.applied).toBe(203);
    expect(again.diverged).toBeUndefined();
  });

  it('refuses a gap and a repeat, keeping nothing of the batch', async () => {
    const log = await SignedLog.create();
    const r = Replica.open(openDb(tempDir()), log.epoch);
    const s = log.next(6);
    r.applySequenced(s.slice(0, 2));
    expect(() => r.applySequenced([s[3]!])).toThrow(ReplicaOrderError);
    expect(() => r.applySequenced([s[1]!])).toThrow(/a repeat/);
    // 3 fits, 5 does not: the whole batch is refused.
    expect(() => r.applySequenced([s[2]!, s[4]!])).toThrow(/expected seq 4, got 5: a gap/);
    expect(r.applied).toBe(2);
    expect(r.store.getJson(3)).toBeUndefined();
    r.applySequenced(s.slice(2));
    expect(r.applied).toBe(6);
  });

  it('refuses a signal of another epoch and a payload that is not a signal', async () => {
    const log = await SignedLog.create();
    const other = await SignedLog.create();
    const r = Replica.open(openDb(tempDir()), log.epoch);
    expect(() => r.applySequenced(other.next(1))).toThrow(ReplicaPayloadError);
    expect(() => r.applySequenced(['{"seq":1}'])).toThrow(ReplicaPayloadError);
    expect(() => r.applySequenced(['not json'])).toThrow(ReplicaPayloadError);
    expect(r.applied).toBe(0);
  });

  it('a replica of another cluster epoch opens diverged, naming both epochs', async () => {
    const log = await SignedLog.create();
    const dir = tempDir();
    const r = Replica.open(openDb(dir), log.epoch);
    r.applySequenced(log.next(5));
    const reopened = Replica.open(openDb(dir), 'feedfacefeedface');
    expect(reopened.diverged?.reason).toBe(Divergence.epoch);
    expect(reopened.diverged?.detail).toContain(log.epoch);
    expect(reopened.diverged?.detail).toContain('feedfacefeedface');
    expect(() => reopened.applySequenced([])).toThrow(/diverged/);
    // An empty replica has nothing to mix: it adopts the new epoch.
    const empty = tempDir();
    Replica.open(openDb(empty), 'aaaa');
    const adopted = Replica.open(openDb(empty), log.epoch);
    expect(adopted.diverged).toBeUndefined();
    expect(adopted.epoch).toBe(log.epoch);
  });

  it('a single-node data dir is not a replica', async () => {
    const log = await SignedLog.create();
    const dir = tempDir();
    const db = openDb(dir);
    const single = new SignalStore(db);
    const own = await SignedLog.create(single.epoch); // a signal as this single-node store made it
    single.insert(own.next(1).map((json) => ({ signal: JSON.parse(json) as Signal, json })));
    const r = Replica.open(db, log.epoch);
    expect(r.diverged?.reason).toBe(Divergence.notReplica);
    expect(r.diverged?.detail).toContain(single.epoch);
  });

  it('verify: ahead of the cluster, a different head row, behind retention', async () => {
    const log = await SignedLog.create();
    const r = Replica.open(openDb(tempDir()), log.epoch);
    r.applySequenced(log.next(10));
    const view = { epoch: log.epoch, firstSeq: 1, lastSeq: 10 };
    expect(r.verify(view, log.json(10))).toBeUndefined();
    expect(r.verify({ ...view, lastSeq: 12 }, log.json(10))).toBeUndefined();

    const ahead = Replica.open(openDb(tempDir()), log.epoch);
    ahead.applySequenced(Array.from({ length: 10 }, (_, i) => log.json(i + 1)));
    expect(ahead.verify({ ...view, lastSeq: 9 }, log.json(9))?.reason).toBe(Divergence.ahead);

    const other = await SignedLog.create(log.epoch); // same epoch, other content: a forked log
    const forked = Replica.open(openDb(tempDir()), log.epoch);
    forked.applySequenced(other.next(10));
    const d = forked.verify(view, log.json(10));
    expect(d?.reason).toBe(Divergence.differs);
    expect(d?.seq).toBe(10);
    expect(d?.detail).toContain('seq 10');

    const behind = Replica.open(openDb(tempDir()), log.epoch);
    behind.applySequenced(Array.from({ length: 3 }, (_, i) => log.json(i + 1)));
    expect(behind.verify({ ...view, firstSeq: 6 }, undefined)?.reason).toBe(Divergence.behind);
  });

  it('a new replica of a trimmed stream starts at its first seq', async () => {
    const log = await SignedLog.create();
    log.next(10);
    const r = Replica.open(openDb(tempDir()), log.epoch);
    r.startAt(6);
    expect(r.applied).toBe(5);
    expect(() => r.applySequenced([log.json(5)])).toThrow(ReplicaOrderError);
    r.applySequenced([6, 7, 8, 9, 10].map((s) => log.json(s)));
    expect(r.store.firstSeq()).toBe(6);
    expect(r.applied).toBe(10);
  });

  it('the single-node REST history serves a replica byte for byte', async () => {
    const log = await SignedLog.create();
    const dir = tempDir();
    const db = openDb(dir);
    const bodies = log.next(120);
    Replica.open(db, log.epoch).applySequenced(bodies);
    db.close();
    const t = await startTestServer({ rest_read_per_min: 10_000 }, dir);
    expect(t.server.epoch).toBe(log.epoch);
    const res = await t.get('/v1/signals?after_seq=0&limit=1000');
    const text = await res.text();
    expect(text.startsWith(`{"signals":[${bodies.join(',')}],`)).toBe(true);
    expect(await (await t.get('/v1/signals/77')).text()).toBe(bodies[76]);
  });
});
