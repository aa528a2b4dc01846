import { expect, it } from 'vitest';
import { classification } from './helpers/server.js';
import { describeTargets, startTarget, type Target } from './helpers/target.js';
import { connect, type Frame, type TestWs } from './helpers/ws-client.js';

async function seed(t: Target, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    const res = await t.post(Array.from({ length: Math.min(500, n - i) }, (_, j) => classification(i + j)));
    expect(res.status).toBe(201);
  }
}

async function subscribed(
  t: Target,
  from: number | undefined,
  extra: object = {},
): Promise<{ c: TestWs; sub: Frame }> {
  const c = connect(t.wsUrl, t.readKey);
  await c.frame('hello');
  c.send({ type: 'subscribe', ...(from === undefined ? {} : { from_seq: from }), ...extra });
  return { c, sub: await c.frame('subscribed') };
}

const seqs = (c: TestWs) => c.signals().map((s) => s.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describeTargets('subscribe and resume (the recovery table)', (kind) => {
  it('hello carries protocol, epoch, head and limits', async () => {
    const t = await startTarget(kind);
    await seed(t, 3);
    const c = connect(t.wsUrl, t.readKey);
    const hello = await c.frame('hello');
    expect(hello).toMatchObject({
      protocol: 2,
      epoch: t.epoch,
      head_seq: 3,
      authenticated: true,
      heartbeat_ms: 15000,
    });
    expect(hello.limits).toMatchObject({ max_frame_bytes: 16384, frames_per_second: 10 });
  });

  it('from a retained position: exactly the missing ones, then caught_up, then live', async () => {
    const t = await startTarget(kind);
    await seed(t, 10);
    const { c, sub } = await subscribed(t, 6, { epoch: t.epoch });
    expect(sub).toMatchObject({ recovered: true, from_seq: 6, head_seq: 10, replay_count: 4 });
    await c.until(() => c.frames.find((f) => f.type === 'caught_up'));
    expect(seqs(c)).toEqual([7, 8, 9, 10]);
    await t.post(classification());
    await c.until(() => seqs(c).length === 5);
    expect(seqs(c)).toEqual([7, 8, 9, 10, 11]);
    const types = c.frames.map((f) => f.type);
    expect(types.indexOf('caught_up')).toBe(types.lastIndexOf('signal') - 1);
  });

  it('from the newest position: nothing replayed, recovered', async () => {
    const t = await startTarget(kind);
    await seed(t, 5);
    const { c, sub } = await subscribed(t, 5);
    expect(sub).toMatchObject({ recovered: true, replay_count: 0 });
    await c.frame('caught_up');
    expect(seqs(c)).toEqual([]);
  });

  it('from 0: everything retained', async () => {
    const t = await startTarget(kind);
    await seed(t, 1200);
    const { c, sub } = await subscribed(t, 0);
    expect(sub).toMatchObject({ recovered: true, from_seq: 0, replay_count: 1200 });
    await c.frame('caught_up');
    expect(seqs(c)).toEqual(range(1, 1200));
  });

  it('without from_seq: live only, from the head', async () => {
    const t = await startTarget(kind);
    await seed(t, 5);
    const { c, sub } = await subscribed(t, undefined);
    expect(sub).toMatchObject({ recovered: true, from_seq: 5, replay_count: 0 });
    await c.frame('caught_up');
    await t.post(classification());
    await c.until(() => seqs(c).length === 1);
    expect(seqs(c)).toEqual([6]);
  });

  it('from a trimmed position: not recovered, nothing replayed', async () => {
    const t = await startTarget(kind);
    await seed(t, 10);
    t.pruneBefore(Date.now() + 1000); // keeps only seq 10
    const { c, sub } = await subscribed(t, 3);
    expect(sub).toMatchObject({ recovered: false, reason: 'trimmed', first_seq: 10, head_seq: 10 });
    // The client decides: here it accepts the gap explicitly by resubscribing from first_seq - 1.
    c.send({ type: 'subscribe', from_seq: 9 });
    await c.until(
      () =>
        c.frames.filter((f) => f.type === 'subscribed').length === 2 &&
        c.frames.find((f) => f.type === 'caught_up'),
    );
    expect(seqs(c)).toEqual([10]);
  });

  it('from the future: not recovered', async () => {
    const t = await startTarget(kind);
    await seed(t, 2);
    const { c, sub } = await subscribed(t, 50);
    expect(sub).toMatchObject({ recovered: false, reason: 'future' });
    await t.post(classification());
    c.send({ type: 'ping', id: 1 });
    await c.frame('pong');
    expect(seqs(c)).toEqual([]); // not streaming anything live either
  });

  it('from another epoch: not recovered', async () => {
    const t = await startTarget(kind);
    await seed(t, 2);
    const { sub } = await subscribed(t, 1, { epoch: 'feedfacefeedface' });
    expect(sub).toMatchObject({ recovered: false, reason: 'epoch_mismatch', epoch: t.epoch });
  });

  it('beyond the replay cap: not recovered (too_far_behind), page REST instead', async () => {
    const t = await startTarget(kind, { max_replay: 5 });
    await seed(t, 10);
    const { sub } = await subscribed(t, 2);
    expect(sub).toMatchObject({ recovered: false, reason: 'too_far_behind' });
  });

  it('publications arriving DURING replay: every seq exactly once, in order (30 rounds)', async () => {
    // Small pages so a replay spans many event-loop turns and ingest commits land between them.
    const t = await startTarget(kind, { replay_page: 25, ws_max_per_key: 100 });
    await seed(t, 600);
    let published = 600;
    for (let round = 0; round < 30; round++) {
      const from = Math.floor(Math.random() * t.head());
      const { c } = await subscribed(t, from);
      // Publish concurrently with the replay, in several small batches.
      const pubs = Array.from({ length: 4 }, async (_, k) => {
        const res = await t.post(Array.from({ length: 5 + k }, () => classification()));
        expect(res.status).toBe(201);
      });
      published += 5 + 6 + 7 + 8;
      await Promise.all(pubs);
      await c.until(() => seqs(c).at(-1) === published, 10_000, `seq ${published}`);
      expect(seqs(c)).toEqual(range(from + 1, published));
      c.ws.close();
      await c.closed();
    }
  });

  it('filtered subscribers get only matching signals, replayed and live', async () => {
    const t = await startTarget(kind);
    await seed(t, 50);
    const { c, sub } = await subscribed(t, 0, { filters: { symbols: ['aapl'], min_confidence: 0.5 } });
    expect(sub).toMatchObject({ filtered: true });
    await c.frame('caught_up');
    const replayed = c.signals();
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.every((s) => s.symbol === 'AAPL' && (s.confidence as number) >= 0.5)).toBe(true);
    const unfiltered = (await subscribed(t, 45)).c;
    await unfiltered.frame('caught_up');
    await t.post([
      classification(0, { symbol: 'AAPL', confidence: 0.9 }),
      classification(0, { symbol: 'TSLA', confidence: 0.9 }),
    ]);
    await c.until(() => c.signals().length === replayed.length + 1);
    await unfiltered.until(() => seqs(unfiltered).length === 7);
    expect(c.signals().at(-1)).toMatchObject({ seq: 51, symbol: 'AAPL' });
    expect(seqs(unfiltered)).toEqual(range(46, 52));
  });

  it('a second subscribe moves the position', async () => {
    const t = await startTarget(kind);
    await seed(t, 10);
    const { c } = await subscribed(t, 8);
    await c.frame('caught_up');
    c.send({ type: 'subscribe', from_seq: 2 });
    await c.until(() => c.frames.filter((f) => f.type === 'caught_up').length === 2);
    expect(seqs(c)).toEqual([9, 10, ...range(3, 10)]);
  });

  it('heartbeats carry head_seq', async () => {
    const t = await startTarget(kind, { heartbeat_ms: 50 });
    await seed(t, 3);
    const c = connect(t.wsUrl, t.readKey);
    const hb = await c.frame('heartbeat');
    expect(hb.head_seq).toBe(3);
    expect(Math.abs((hb.time as number) - Date.now())).toBeLessThan(5000);
  });

  it('every replayed and live signal carries a signature', async () => {
    const t = await startTarget(kind);
    await seed(t, 3);
    const { c } = await subscribed(t, 0);
    await c.frame('caught_up');
    expect(
      c.signals().every((s) => typeof s.sig === 'string' && /^[\w-]+\.\.[\w-]+$/.test(s.sig as string)),
    ).toBe(true);
  });
});
