import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { dbCheck } from '../../src/commands/db.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { classification, startTestServer, type TestServer } from '../helpers/server.js';

async function expect503(res: Response, label: string): Promise<void> {
  const text = await res.text();
  expect(res.status, `${label}: ${text}`).toBe(503);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('retry-after')).toBe('1');
  expect(JSON.parse(text)).toMatchObject({ status: 503, code: 'unavailable' });
}

function subscriber(t: TestServer): ResumingStream {
  const c = new ResumingStream({ url: () => t.wsUrl, key: t.readKey, epoch: t.server.epoch }).start();
  onTestFinished(() => c.stop());
  return c;
}

async function expectExactStream(t: TestServer, c: ResumingStream): Promise<void> {
  const head = t.server.driver.store.head;
  await c.until(() => c.last >= head, 10_000, `subscriber at ${head}`);
  expect({ dups: c.duplicates, gaps: c.gaps }).toEqual({ dups: 0, gaps: [] });
  expect(c.applied).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  const check = dbCheck({ dataDir: t.dataDir });
  expect(check.ok, check.lines.join('\n')).toBe(true);
}

describe('storage faults during ingest', () => {
  it('database locked by another process longer than busy_timeout: 503 problem+json, nothing written, recovers when released', async () => {
    const t = await startTestServer({ busy_timeout_ms: 100 });
    const c = subscriber(t);
    for (let i = 0; i < 5; i++) expect((await t.post(classification())).status).toBe(201);
    const locker = new Database(path.join(t.dataDir, 'catalyst.db'));
    onTestFinished(() => void (locker.open && locker.close()));
    locker.exec('BEGIN EXCLUSIVE');
    const refused = classification();
    await expect503(await t.post(refused), 'single');
    await expect503(await t.post([classification(), classification()]), 'batch');
    await expect503(await fetch(`${t.url}/readyz`), 'readyz');
    // Liveness and reads are unaffected (WAL readers do not wait for the writer's lock).
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const page = (await (await t.get('/v1/signals')).json()) as { head_seq: number; signals: unknown[] };
    expect(page).toMatchObject({ head_seq: 5 });
    expect(page.signals).toHaveLength(5);
    expect(t.server.driver.store.head).toBe(5);
    locker.exec('ROLLBACK');
    locker.close();
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    // The refused one was not half-written: it is new now, and takes the next seq (no hole where it failed).
    const again = await t.post(refused);
    expect(again.status).toBe(201);
    expect(await again.json()).toMatchObject({ seq: 6, duplicate: false });
    await expectExactStream(t, c);
  });

  it('disk full (SQLITE_FULL via max_page_count on the server connection): 503, nothing half-written, recovers', async () => {
    const t = await startTestServer();
    const c = subscriber(t);
    // Test hook: the server's own better-sqlite3 connection (SignalStore keeps it as `db`).
    const db = (t.server.driver.store as unknown as { db: Database.Database }).db;
    const fat = () =>
      classification(undefined, { headline: 'h'.repeat(400), meta: { pad: 'p'.repeat(3000) } });
    for (let i = 0; i < 3; i++) expect((await t.post(fat())).status).toBe(201);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 4}`);
    const statuses: number[] = [];
    let refusedBody: ReturnType<typeof fat> | undefined;
    for (let i = 0; i < 50 && !refusedBody; i++) {
      const body = fat();
      const res = await t.post([body, fat()]);
      statuses.push(res.status);
      if (res.status === 503) {
        refusedBody = body;
        await expect503(res, 'disk full');
      } else expect(res.status).toBe(201);
    }
    expect(refusedBody, `statuses ${statuses.join(',')}`).toBeDefined();
    const headWhenFull = t.server.driver.store.head;
    // Still full: still 503, head does not move.
    await expect503(await t.post(fat()), 'still full');
    expect(t.server.driver.store.head).toBe(headWhenFull);
    db.pragma('max_page_count = 1073741823');
    const again = await t.post(refusedBody!);
    expect(again.status).toBe(201);
    expect(await again.json()).toMatchObject({ seq: headWhenFull + 1, duplicate: false });
    await expectExactStream(t, c);
    console.log(
      `[chaos] disk full after ${statuses.length - 1} batches; recovered at seq ${headWhenFull + 1}`,
    );
  });
});
