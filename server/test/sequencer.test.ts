import { describe, expect, it } from 'vitest';
import type { StoredSignal } from '../src/log/types.js';
import { openDb } from '../src/store/db.js';
import { SqliteSequencer } from '../src/store/sequencer.js';
import { SignalStore } from '../src/store/signals.js';
import { ClassificationSchema } from '@catalyst-signal/shared';
import { classification, tempDir } from './helpers/server.js';

const item = (i: number) => ClassificationSchema.parse(classification(i));

describe('SqliteSequencer (group commit)', () => {
  it('commits everything submitted in one turn as one group and publishes in seq order', async () => {
    const store = new SignalStore(openDb(tempDir()));
    const published: number[][] = [];
    const ing = new SqliteSequencer(
      store,
      () => 'sig',
      (fresh) => published.push(fresh.map((f) => f.signal.seq)),
      undefined,
      1000,
    );
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => ing.submit([item(i)])));
    expect(results.map((r) => r[0]!.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(published).toEqual([Array.from({ length: 50 }, (_, i) => i + 1)]); // one group, in order
  });

  it('splits groups at group_commit_max without splitting a request', async () => {
    const store = new SignalStore(openDb(tempDir()));
    const groups: number[] = [];
    const ing = new SqliteSequencer(
      store,
      () => 'sig',
      (fresh) => groups.push(fresh.length),
      undefined,
      10,
    );
    await Promise.all([
      ing.submit(Array.from({ length: 6 }, (_, i) => item(i))),
      ing.submit(Array.from({ length: 6 }, (_, i) => item(10 + i))),
      ing.submit([item(20)]),
    ]);
    expect(groups).toEqual([6, 7]);
  });

  it('a fan-out that throws neither loses the acknowledgement nor the commit', async () => {
    const store = new SignalStore(openDb(tempDir()));
    const errors: unknown[] = [];
    const ing = new SqliteSequencer(
      store,
      () => 'sig',
      (_fresh: readonly StoredSignal[]) => {
        throw new Error('fan-out bug');
      },
      undefined,
      100,
      (e) => errors.push(e),
    );
    const [r] = await ing.submit([item(1)]);
    expect(r).toMatchObject({ seq: 1, duplicate: false });
    expect(store.getJson(1)).toBeDefined();
    expect(errors).toHaveLength(1);
  });

  it('a failing commit rejects every request of the group and leaves the head where it was', async () => {
    const db = openDb(tempDir());
    const store = new SignalStore(db);
    await new SqliteSequencer(
      store,
      () => 'sig',
      () => undefined,
      undefined,
      100,
    ).submit([item(1)]);
    const ing = new SqliteSequencer(
      store,
      () => {
        throw Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
      },
      () => undefined,
      undefined,
      100,
    );
    const outcomes = await Promise.allSettled([ing.submit([item(2)]), ing.submit([item(3)])]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason.name).toBe('StoreUnavailableError');
    expect(store.head).toBe(1);
    expect(store.getJson(2)).toBeUndefined();
  });
});
