import { CloseCode } from '@catalyst-signal/shared';
import { expect, it } from 'vitest';
import { describeTargets, startTarget, type Target } from './helpers/target.js';
import { connect, type TestWs } from './helpers/ws-client.js';

/**
 * The three doors (REST, WS upgrade, WS `auth` frame) share one admission: the same brute-force sequence
 * (30 failed credentials a minute from one address, the default) must shut every one of them, even for a
 * valid key afterwards.
 */
const FAILURES = 30;
const BAD = 'cat_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const upgradeStatus = (c: TestWs) =>
  c.opened.then(
    () => 200,
    (e: { status?: number }) => e.status,
  );

/** Connect without credentials, send `auth`, return the close code (undefined if it was admitted). */
async function inBand(t: Target, token: string): Promise<{ close: number | undefined; reason: string }> {
  const c = connect(t.wsUrl);
  await c.frame('hello');
  c.send({ type: 'auth', token });
  await c.until(() => c.closeCode !== undefined || c.frames.filter((f) => f.type === 'hello').length === 2);
  return { close: c.closeCode, reason: c.closeReason };
}

type Door = {
  name: string;
  fail(t: Target): Promise<unknown>;
  /** What a VALID read key gets once the address is blocked. */
  blocked(t: Target): Promise<void>;
};

const DOORS: Door[] = [
  {
    name: 'REST',
    fail: async (t) => expect((await t.get('/v1/signals', BAD)).status).toBe(401),
    blocked: async (t) => {
      const res = await t.get('/v1/signals', t.readKey);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await res.json()).code).toBe('rate_limited');
    },
  },
  {
    name: 'WS upgrade',
    fail: async (t) => expect(await upgradeStatus(connect(t.wsUrl, BAD))).toBe(401),
    blocked: async (t) => expect(await upgradeStatus(connect(t.wsUrl, t.readKey))).toBe(429),
  },
  {
    name: 'WS auth frame',
    fail: async (t) => expect((await inBand(t, BAD)).close).toBe(CloseCode.unauthenticated.code),
    blocked: async (t) =>
      expect(await inBand(t, t.readKey)).toEqual({
        close: CloseCode.rateLimited.code,
        reason: CloseCode.rateLimited.reason,
      }),
  },
];

describeTargets('one admission for REST, upgrade and in-band auth', (kind) => {
  for (const door of DOORS) {
    it(`${door.name}: ${FAILURES} failures a minute from one address, then a valid key is refused too`, async () => {
      const t = await startTarget(kind, { auth_failures_per_min: FAILURES });
      for (let i = 0; i < FAILURES; i++) await door.fail(t);
      await door.blocked(t);
      // One limiter behind every door: failures at this door shut the others as well.
      for (const other of DOORS) await other.blocked(t);
      const metrics = await t.server.metrics.registry.getSingleMetricAsString('catalyst_auth_failures_total');
      expect(metrics).toMatch(new RegExp(`transport="(rest|ws)"} ${FAILURES}`));
    });
  }

  it('in-band auth applies the per-key socket cap like the upgrade does', async () => {
    const t = await startTarget(kind, { ws_max_per_key: 1 });
    const first = connect(t.wsUrl, t.readKey);
    await first.frame('hello');
    expect(await upgradeStatus(connect(t.wsUrl, t.readKey))).toBe(429);
    expect((await inBand(t, t.readKey)).close).toBe(CloseCode.tooManyConnections.code);
  });
});
