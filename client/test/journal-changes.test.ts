import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { DashboardFeed } from '../src/dashboard/feed.js';
import { Journal } from '../src/journal/index.js';
import { baseSignal } from './helpers/signals.js';

// The journal's change log (client/src/journal/changes.ts): every decision, intent change, kill switch flip,
// halt and gap appends one row in its own transaction, ids gapless; readers follow `WHERE id > ?`.

const leg = {
  leg: 'entry' as const,
  market: 'BTC/USDT',
  side: 'buy' as const,
  type: 'limit' as const,
  amount: 1,
  limitPrice: 100,
  refPrice: 100,
  quote: 100,
};

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-changes-'));
  path = join(dir, 'journal.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function decide(j: Journal, seq: number, withIntent = true): void {
  j.recordDecision({
    signal: baseSignal(seq, { epoch: 'e1', headline: `news ${seq}` }) as Signal,
    receivedAt: 1000 + seq,
    decidedAt: 2000 + seq,
    decision: withIntent
      ? { verdict: 'trade', reason: 'trade:entry', legs: [leg] }
      : { verdict: 'skip', reason: 'skipped:confidence', detail: '0.5 < 0.6', legs: [] },
    intents: withIntent ? [{ clientOrderId: `c${seq}`, leg }] : [],
  });
}

describe('journal change log', () => {
  it('each write appends its change in the same transaction; ids are gapless; nothing changes, nothing appended', () => {
    const j = Journal.open(path);
    try {
      decide(j, 1);
      decide(j, 2, false);
      j.updateIntent('c1', { status: 'open', exchangeOrderId: 'x1' }, 3000);
      j.updateIntent('c1', { status: 'open', exchangeOrderId: 'x1' }, 3001); // a reconcile that learns nothing
      j.updateIntent('c1', { status: 'filled', filled: 1, avgPrice: 100, feeQuote: 0.1 }, 3002);
      const protect = {
        client_order_id: 'p1',
        epoch: 'e1',
        seq: 1,
        leg: 'sl',
        market: 'BTC/USDT',
        side: 'sell' as const,
        type: 'stop_loss' as const,
        amount: 1,
        price: 90,
        ref_price: 100,
        stop_loss: 90,
        take_profit: null,
      };
      j.addIntent(protect, 3003);
      j.addIntent(protect, 3004); // no-op: the (seq, leg) exists
      j.setKillSwitch('pause', 4000);
      j.setKillSwitch('pause', 4001); // same state: not a change
      j.setKillSwitch(undefined, 4002);
      j.setHalted('epoch changed', 5000);
      j.recordGap('e1', 3, 5, 'trimmed', 6000);

      const all = j.changesAfter(0, 100);
      expect(all.map((c) => c.id)).toEqual(all.map((_, i) => i + 1));
      expect(all.map((c) => c.kind)).toEqual([
        'decision',
        'order',
        'decision',
        'order',
        'order',
        'order',
        'kill_switch',
        'kill_switch',
        'halt',
        'gap',
      ]);
      const [d1, o1, d2, open, filled, sl] = all;
      expect(d1).toMatchObject({ symbol: 'BTC', epoch: 'e1', seq: 1, at: 2001 });
      expect(d1!.data).toMatchObject({
        verdict: 'trade',
        reason: 'trade:entry',
        headline: 'news 1',
        price: 60000,
      });
      expect(o1!.data).toMatchObject({ client_order_id: 'c1', status: 'pending' });
      expect(d2!.data).toMatchObject({ verdict: 'skip', detail: '0.5 < 0.6' });
      expect(open!.data).toMatchObject({ status: 'open', exchange_order_id: 'x1' });
      expect(filled!.data).toMatchObject({ status: 'filled', filled: 1, avg_price: 100 });
      // A protective leg is named by its signal's symbol, not the market.
      expect(sl).toMatchObject({ symbol: 'BTC', seq: 1, at: 3003 });
      expect(all[6]!.data).toEqual({ on: true, reason: 'pause' });
      expect(all[7]!.data).toEqual({ on: false });
      expect(all[8]!.data).toEqual({ halted: 'epoch changed' });
      expect(all[9]!.data).toEqual({ from_seq: 3, to_seq: 5, reason: 'trimmed' });
      expect(j.changesAfter(8, 100).map((c) => c.id)).toEqual([9, 10]);
      expect(j.lastChangeId()).toBe(10);
    } finally {
      j.close();
    }
  });

  it('a write that fails writes no change, and the next id follows without a gap', () => {
    const j = Journal.open(path);
    try {
      decide(j, 1);
      expect(() => decide(j, 1)).toThrow(/UNIQUE/); // the same (epoch, seq) twice: rolled back whole
      decide(j, 2);
      expect(j.changesAfter(0, 100).map((c) => [c.id, c.seq])).toEqual([
        [1, 1],
        [2, 1],
        [3, 2],
        [4, 2],
      ]);
    } finally {
      j.close();
    }
  });

  it('another connection (the dashboard beside `run`) reads each change after it commits', () => {
    const run = Journal.open(path);
    const dash = Journal.open(path);
    try {
      decide(run, 1);
      expect(dash.changesAfter(0, 10).map((c) => c.kind)).toEqual(['decision', 'order']);
      run.updateIntent('c1', { status: 'open' }, 3000);
      expect(dash.changesAfter(2, 10).map((c) => c.data['status'])).toEqual(['open']);
    } finally {
      run.close();
      dash.close();
    }
  });
});

describe('dashboard feed from the change log', () => {
  it('reports every order state and kill switch flip between two polls, not only the last state', () => {
    const run = Journal.open(path);
    const dash = Journal.open(path);
    try {
      const feed = new DashboardFeed(dash);
      decide(run, 1);
      // pending -> open -> filled and a pause + resume, all before the dashboard looks once
      run.updateIntent('c1', { status: 'open' }, 3000);
      run.updateIntent('c1', { status: 'filled', filled: 1, avgPrice: 100 }, 3000);
      run.setKillSwitch('pause', 3001);
      run.setKillSwitch(undefined, 3002);
      const events = feed.poll();
      expect(
        events.map((e) =>
          e.kind === 'order'
            ? `order:${e.order.status}`
            : e.kind === 'kill_switch'
              ? `ks:${e.kill_switch.on}`
              : e.kind,
        ),
      ).toEqual(['decision', 'order:pending', 'order:open', 'order:filled', 'ks:true', 'ks:false']);
      const first = events[0]!.seq;
      expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5].map((k) => first + k));
      expect(feed.poll()).toEqual([]);
    } finally {
      run.close();
      dash.close();
    }
  });
});
