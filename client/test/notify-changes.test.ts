import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseSignal } from './helpers/signals.js';
import { testLog } from './helpers/logger.js';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { ServiceServer } from './helpers/notify-services.js';
import { Journal } from '../src/journal/index.js';
import { parseConfig } from '../src/config.js';
import { Notifier } from '../src/notify/index.js';
import { ChangeFeed, NOTIFY_CURSOR_META } from '../src/notify/change-feed.js';
import type { Signal } from '@catalyst-signal/shared';
import type { Decision, OrderLeg } from '../src/decide/index.js';

// Notifications read the journal's change log: what `run` journals (placed, partly filled, filled, a stop hit
// with its P&L, a broker refusal) and what another command journals (`pause`) reach the targets, in order.

let dir: string;
const closers: { close(): unknown }[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-notify-feed-'));
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

async function service(kind: ServiceServer['kind']) {
  const s = await ServiceServer.start(kind);
  closers.push(s);
  return s;
}

const signal = (seq: number, symbol: string) => ({ ...baseSignal(seq, { symbol }), sig: 'x' }) as Signal;
const traded = (market: string): Decision =>
  ({ verdict: 'traded', reason: 'trade:entry', legs: [{ leg: 'entry', market }] }) as unknown as Decision;

describe('notifications from the journal change log', () => {
  it('placed, partly filled, filled, stop hit with P&L, broker refusal and a pause from another connection', async () => {
    const json = await service('json');
    const path = join(dir, 'journal.sqlite');
    const j = Journal.open(path);
    closers.push(j);
    const config = parseConfig({ notify: [{ url: `json://${json.host}/h`, min_priority: 1 }] });
    const n = new Notifier(config.notify, { env: {}, log: testLog });
    closers.push(n);
    // A fixed clock in the New York morning: after the close the feed also sends the day's summary.
    const t = Date.parse('2026-12-07T15:00:00Z');
    const now = () => t;
    const feed = new ChangeFeed(j, n, config, 'paper', { now });

    const leg = (over: Partial<OrderLeg>): OrderLeg => ({
      leg: 'entry',
      market: 'BTC/USDT',
      side: 'buy',
      type: 'limit',
      amount: 0.002,
      limitPrice: 50000,
      refPrice: 50000,
      quote: 100,
      ...over,
    });
    j.recordDecision({
      signal: signal(1, 'BTC'),
      receivedAt: t,
      decidedAt: t,
      decision: traded('BTC/USDT'),
      intents: [{ clientOrderId: 'c1', leg: leg({}) }],
    });
    j.updateIntent('c1', { status: 'open', exchangeOrderId: 'x1' }, t + 1);
    j.updateIntent('c1', { status: 'open', filled: 0.001, avgPrice: 50000 }, t + 2);
    j.updateIntent('c1', { status: 'filled', filled: 0.002, avgPrice: 50000 }, t + 3);
    const sl = j.addIntent(
      {
        client_order_id: 'c1-sl',
        epoch: 'ep-test',
        seq: 1,
        leg: 'protect',
        market: 'BTC/USDT',
        side: 'sell',
        type: 'stop_loss',
        amount: 0.002,
        price: 45000,
        ref_price: 50000,
        stop_loss: 45500,
        take_profit: null,
      },
      t + 4,
    );
    j.updateIntent(sl.client_order_id, { status: 'open', exchangeOrderId: 'x2' }, t + 5);
    j.updateIntent(sl.client_order_id, { status: 'filled', filled: 0.002, avgPrice: 45000 }, t + 6);
    j.recordDecision({
      signal: signal(2, 'ETH'),
      receivedAt: t,
      decidedAt: t + 7,
      decision: traded('ETH/USDT'),
      intents: [{ clientOrderId: 'c2', leg: leg({ market: 'ETH/USDT', limitPrice: 3000, refPrice: 3000 }) }],
    });
    j.updateIntent('c2', { status: 'rejected', error: 'insufficient buying power' }, t + 8);
    // `pause` in another shell: another connection to the same journal file.
    const other = Journal.open(path);
    other.setKillSwitch('holiday', t + 9);
    other.close();

    feed.poll();
    await n.flush(10_000);
    const titles = json.delivered.map((r) => r.body['title']);
    expect(titles).toEqual([
      '[paper] placed: buy 0.002 BTC/USDT limit @ 50000',
      '[paper] partly filled: 0.001 of 0.002 BTC/USDT',
      '[paper] filled: buy 0.002 BTC/USDT @ 50000',
      '[paper] stop hit: sell 0.002 BTC/USDT @ 45000',
      '[paper] broker refused: buy 0.002 ETH/USDT',
      'kill switch ON: trading paused',
    ]);
    const stop = json.delivered[3]!.body;
    expect(stop['kind']).toBe('protective_filled');
    expect(stop['message']).toContain('realised P&L -10.00 USDT');
    expect(json.delivered[4]!.body['message']).toContain('Reason: insufficient buying power');

    // The cursor is kept: a new feed (a restart) tells nothing twice.
    feed.stop();
    expect(Number(j.meta(NOTIFY_CURSOR_META))).toBe(j.lastChangeId());
    const again = new ChangeFeed(j, n, config, 'paper', { now });
    again.poll();
    await n.flush(10_000);
    expect(json.delivered).toHaveLength(6);
  });

  it("a live bracket's broker-made leg that fills is told from the broker's event (it has no intent of its own)", async () => {
    const json = await service('json');
    const j = Journal.open(join(dir, 'journal.sqlite'));
    closers.push(j);
    const config = parseConfig({ notify: [{ url: `json://${json.host}/h`, min_priority: 1 }] });
    const n = new Notifier(config.notify, { env: {}, log: testLog });
    closers.push(n);
    const t = Date.parse('2026-12-07T15:00:00Z');
    const feed = new ChangeFeed(j, n, config, 'LIVE', { now: () => t });
    j.recordDecision({
      signal: signal(1, 'ACME'),
      receivedAt: t,
      decidedAt: t,
      decision: traded('ACME'),
      intents: [
        {
          clientOrderId: 'c1',
          leg: {
            leg: 'entry',
            market: 'ACME',
            side: 'buy',
            type: 'market',
            amount: 10,
            refPrice: 5,
            quote: 50,
          },
        },
      ],
    });
    const base = {
      market: 'ACME',
      source: 'stream' as const,
      legs: [] as { orderId: string; clientOrderId: string }[],
    };
    j.applyBrokerEvent(
      {
        ...base,
        key: 'fill:c1:10',
        event: 'fill',
        orderId: 'o1',
        clientOrderId: 'c1',
        side: 'buy',
        status: 'closed',
        filled: 10,
        average: 5,
        at: t + 1,
        legs: [{ orderId: 'o-sl', clientOrderId: 'broker-made-sl' }],
      },
      t + 1,
    );
    j.applyBrokerEvent(
      {
        ...base,
        key: 'fill:broker-made-sl:10',
        event: 'fill',
        orderId: 'o-sl',
        clientOrderId: 'broker-made-sl',
        side: 'sell',
        status: 'closed',
        filled: 10,
        average: 4.5,
        at: t + 2,
      },
      t + 2,
    );
    feed.poll();
    await n.flush(10_000);
    const titles = json.delivered.map((r) => r.body['title']);
    expect(titles).toContain('[LIVE] filled: buy 10 ACME @ 5');
    expect(titles).toContain('[LIVE] protective leg filled: sell 10 ACME @ 4.5');
    expect(json.delivered.filter((r) => r.body['kind'] === 'protective_filled')).toHaveLength(1);
  });

  it('the daily summary after the New York close: P&L, fills, open positions, skips by reason; once a day', async () => {
    const json = await service('json');
    const j = Journal.open(join(dir, 'journal.sqlite'));
    closers.push(j);
    const config = parseConfig({ notify: [{ url: `json://${json.host}/h`, events: ['daily_summary'] }] });
    const n = new Notifier(config.notify, { env: {}, log: testLog });
    closers.push(n);
    const t = Date.parse('2026-12-07T15:00:00Z'); // 10:00 New York
    for (const [seq, reason] of [
      [1, 'skipped:low_confidence'],
      [2, 'skipped:low_confidence'],
      [3, 'skipped:stale'],
    ] as const)
      j.recordDecision({
        signal: signal(seq, 'BTC'),
        receivedAt: t,
        decidedAt: t,
        decision: { verdict: 'skipped', reason, legs: [] } as unknown as Decision,
        intents: [],
      });
    let now = t;
    const feed = new ChangeFeed(j, n, config, 'paper', { now: () => now });
    feed.poll();
    now = Date.parse('2026-12-07T21:04:00Z'); // 16:04 New York: not yet
    feed.poll();
    now = Date.parse('2026-12-07T21:06:00Z');
    feed.poll();
    feed.poll();
    await n.flush(10_000);
    expect(json.delivered).toHaveLength(1);
    const m = json.delivered[0]!.body;
    expect(m['title']).toBe('[paper] 2026-12-07: P&L +0.00 USDT, 0 fills');
    expect(m['message']).toContain('3 signals decided');
    expect(m['message']).toContain('not traded: 2 × skipped:low_confidence\n1 × skipped:stale');
  });
});

describe('a paper run tells its trades and the kill switch (real processes)', () => {
  it('filled, paused, resumed reach the JSON webhook', async () => {
    const [server, json] = await Promise.all([
      FakeSignalServer.start({ heartbeatMs: 1000 }),
      service('json'),
    ]);
    closers.push(server);
    writeConfig(dir, {
      server: { url: server.url, start_from: 'all' },
      notify: [{ url: `json://${json.host}/hook`, events: ['filled', 'kill_switch'] }],
    });
    writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
    const run = startClient(['-c', 'catalyst.yaml', 'run', '--json'], {}, dir);
    await server.publish({ symbol: 'BTC', price: 60000 });
    await json.waitDelivered(1);
    expect(json.delivered[0]!.body).toMatchObject({
      kind: 'filled',
      title: expect.stringMatching(/^\[paper\] filled: buy [\d.]+ BTC\/USDT @ /),
    });
    expect((await runCli(['-c', 'catalyst.yaml', 'pause', '--reason', 'lunch'], {}, dir)).code).toBe(0);
    await json.waitDelivered(2);
    expect(json.delivered[1]!.body['title']).toBe('kill switch ON: trading paused');
    expect(json.delivered[1]!.body['message']).toContain('lunch');
    expect((await runCli(['-c', 'catalyst.yaml', 'resume'], {}, dir)).code).toBe(0);
    await json.waitDelivered(3);
    expect(json.delivered[2]!.body['title']).toBe('kill switch off: trading resumed');
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    const status = JSON.parse((await runCli(['-c', 'catalyst.yaml', 'status', '--json'], {}, dir)).stdout);
    expect(status.notifications[0]).toMatchObject({ sent: 3, failed: 0 });
  });
});

describe('the signal server lost and back (real processes)', () => {
  it('connection_lost after lost_after_ms without the server, connection_back when it answers again', async () => {
    const json = await service('json');
    let server = await FakeSignalServer.start({ heartbeatMs: 1000 });
    writeConfig(dir, {
      server: { url: server.url, reconnect: { initial_delay_ms: 100, max_delay_ms: 300 } },
      notify: [{ url: `json://${json.host}/hook`, events: ['connection_lost', 'connection_back'] }],
      notify_options: { lost_after_ms: 1000 },
    });
    writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
    const run = startClient(['-c', 'catalyst.yaml', 'run'], {}, dir);
    await run.waitStdout(/waiting for signals\n/);
    const port = Number(new URL(server.url).port);
    await server.close();
    const [lost] = await json.waitDelivered(1);
    expect(lost!.body).toMatchObject({ kind: 'connection_lost', priority: 4 });
    expect(lost!.body['title']).toMatch(/^signal server unreachable for \d+ s$/);
    server = await FakeSignalServer.start({ heartbeatMs: 1000, port });
    closers.push(server);
    const [, back] = await json.waitDelivered(2);
    expect(back!.body).toMatchObject({ kind: 'connection_back', title: 'signal server reachable again' });
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
  });
});
