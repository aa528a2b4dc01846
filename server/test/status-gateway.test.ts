import { StatusFrameSchema, type StatusFrame } from '@catalyst-signal/shared';
import { expect, it } from 'vitest';
import { classification } from './helpers/server.js';
import { describeTargets, startTarget } from './helpers/target.js';
import { connect, type TestWs } from './helpers/ws-client.js';

/** Resolve with the first status frame (arriving from now on) that satisfies `cond`. */
function nextStatus(ws: TestWs, cond: (s: StatusFrame) => boolean, what: string): Promise<StatusFrame> {
  const seen = ws.frames.length;
  return ws.until(
    () =>
      ws.frames
        .slice(seen)
        .filter((f) => f.type === 'status')
        .map((f) => StatusFrameSchema.parse(f))
        .find(cond),
    15_000,
    what,
  );
}

/**
 * The status page's numbers on every way of deploying the server. A gateway ingests nothing: it counts the
 * signals it applied from the cluster log and serves, and shows its replica (applied seq, the log's head, lag),
 * which is what every cluster operator sees behind nginx's `/status`.
 */
describeTargets('status counts what this node serves', (kind) => {
  it('signals per minute and the series follow the signals served; a replica shows its lag and the log head', async () => {
    const t = await startTarget(kind);
    const admin = connect(t.wsUrl, t.adminKey);
    await admin.frame('hello');
    admin.send({ type: 'status' });
    await nextStatus(admin, () => true, 'a first status frame');

    let head = 0;
    for (let i = 1; i <= 3; i++) {
      const res = await t.post(classification(i, { symbol: 'MRNA', headline: `signal ${i}` }));
      expect(res.status).toBe(201);
      head = ((await res.json()) as { seq: number }).seq;
    }
    const s = await nextStatus(
      admin,
      (f) => f.head_seq === head && f.signals.per_min >= 3,
      `head ${head} and 3 signals a minute`,
    );
    expect(s.signals.published_total).toBe(3);
    expect(s.signals.series.at(-1)).toBeGreaterThanOrEqual(3);
    expect(s.recent.map((r) => r.seq)).toContain(head);
    if (kind === 'single node') {
      expect(s.signals.ingested_total).toBe(3);
      expect(s.replica).toBeNull();
    } else {
      expect(s.replica).toMatchObject({ applied_seq: head, diverged: null, caught_up: true });
      expect(s.replica!.cluster_last_seq).toBeGreaterThanOrEqual(head);
      expect(s.replica!.replica_lag).toBe(s.replica!.cluster_last_seq - head);
      if (kind === 'gateway') expect(s.signals.ingested_total).toBe(0);
    }
    admin.ws.close();
  });
});
