import { expect, onTestFinished } from 'vitest';
import { Journal } from '../../src/journal/index.js';
import { ChildServer } from '../../../server/test/helpers/child-server.js';
import { FaultProxy } from '../../../server/test/helpers/fault-proxy.js';
import { chaosDir, pollUntil } from '../helpers/chaos.js';
import { startTestEngine, type EngineEvent, type TestEngine } from '../helpers/engine.js';

/**
 * The world of the network-fault tests: the REAL server (child process, heartbeat HB) behind the TCP fault
 * proxy, the REAL client engine in paper mode connected through the proxy, and a publisher talking to the
 * server directly. Every part is torn down with the running test.
 */

export const HB = 200;
/** Timer lateness allowed on top of a protocol bound (two cores, parallel test files). */
export const SLACK = 150;

export interface World {
  server: ChildServer;
  proxy: FaultProxy;
  client: TestEngine;
  publish(n: number): Promise<void>;
  head(): Promise<number>;
}

export async function world(): Promise<World> {
  const dir = chaosDir('cc-net-');
  const server = await ChildServer.start({
    env: { CATALYST_LIMITS_DISABLED: '1' },
    config: { heartbeat_ms: HB },
  });
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: server.port });
  const client = await startTestEngine({
    dir,
    serverKey: server.keys.readKey,
    config: {
      server: {
        url: proxy.url,
        start_from: 'all',
        heartbeat_misses: 2,
        reconnect: { initial_delay_ms: 20, max_delay_ms: 200 },
      },
      filters: { min_confidence: 0.6 },
      paper: { starting_balance_quote: 1_000_000 },
      risk: {
        cooldown_per_symbol_ms: 0,
        max_orders_per_day: 100_000,
        max_open_positions: 100,
        max_exposure_per_symbol_quote: 1e9,
        max_total_exposure_quote: 1e9,
      },
    },
  });
  let i = 0;
  const publish = async (n: number) => {
    for (let k = 0; k < n; k++) {
      i++;
      const res = await fetch(`${server.url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.keys.publishKey}` },
        body: JSON.stringify({
          source_id: `net-${i}`,
          symbol: ['BTC', 'ETH', 'SOL'][i % 3],
          catalyst: 'earnings',
          direction: 'long',
          // every third one is skipped (confidence), the rest traded on paper
          confidence: i % 3 === 0 ? 0.3 : 0.9,
          price: 100 + i,
          headline: `net fault ${i}`,
          classified_at: new Date().toISOString(),
        }),
      });
      expect(res.status).toBe(201);
    }
  };
  const head = async () =>
    ((await (await fetch(`${server.url}/healthz`)).json()) as { head_seq: number }).head_seq;
  onTestFinished(() => proxy.close());
  return { server, proxy, client, publish, head };
}

/** Resolve at the first engine event of `type` after `since`. */
export function eventAfter(
  w: World,
  type: EngineEvent['type'],
  since: number,
  timeoutMs = 10_000,
): Promise<EngineEvent> {
  return pollUntil(
    `${type} after the fault`,
    () => w.client.events.find((e) => e.type === type && e.at >= since),
    { timeoutMs, everyMs: 5 },
  );
}

export async function settle(w: World): Promise<number> {
  const head = await w.head();
  await pollUntil(`client to apply seq ${head}`, () => w.client.applied.at(-1) === head, {
    timeoutMs: 15_000,
  });
  return head;
}

/** Every seq decided exactly once, in order; every intent has one paper order; nothing fatal. */
export function assertExactlyOnce(w: World, head: number): void {
  expect(w.client.exitCode(), 'the engine is still running (no fatal stop)').toBeUndefined();
  expect(w.client.applied, 'applied events: each seq once, in order').toEqual(
    Array.from({ length: head }, (_, k) => k + 1),
  );
  const j = Journal.open(w.client.journalPath);
  try {
    const seqs = j
      .decisions({ limit: 100_000 })
      .map((d) => d.seq)
      .sort((a, b) => a - b);
    expect(seqs, 'journal decisions == 1..head').toEqual(Array.from({ length: head }, (_, k) => k + 1));
    const intents = j.allIntents();
    const legs = new Set(intents.map((i) => `${i.seq}/${i.leg}`));
    expect(legs.size, 'one intent per (seq, leg)').toBe(intents.length);
    expect(intents.length, 'two of every three signals are traded').toBe(head - Math.floor(head / 3));
    for (const i of intents) {
      expect(i.status, `intent ${i.seq}`).toBe('filled');
      expect(j.paperOrder(i.client_order_id), `paper order of ${i.seq}`).toMatchObject({
        clientOrderId: i.client_order_id,
        status: 'closed',
      });
    }
    // The paper wallet moved once per order: its quote balance is the start minus each order's cost + fee.
    const spent = intents.reduce((n, i) => n + i.filled * (i.avg_price ?? 0) + i.fee_quote, 0);
    expect(j.paperBalances()['USDT']).toBeCloseTo(1_000_000 - spent, 6);
  } finally {
    j.close();
  }
}

/** The fault hits an established, caught-up connection with signals already applied. */
export async function steady(w: World): Promise<void> {
  await w.publish(3);
  await pollUntil('first three applied', () => w.client.applied.at(-1) === 3);
  // One heartbeat after the last signal: the connection is idle-healthy when the fault lands.
  const t = Date.now();
  await eventAfter(w, 'heartbeat', t);
}
