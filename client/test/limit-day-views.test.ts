import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { limitDay } from '../src/decide/index.js';
import { DashboardFeed } from '../src/dashboard/feed.js';
import { buildSnapshot } from '../src/dashboard/snapshot.js';
import { Journal } from '../src/journal/index.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { testConfig } from './helpers/config.js';
import { baseSignal } from './helpers/signals.js';

// The daily limits count the New York trading day on us_equity (decide/risk.ts limitDay). What a person reads
// about "today" must be that same day: the dashboard's "today" P&L summed the UTC day (which starts at 19:00
// New York, inside after-hours) beside a loss limit counting another day, and `status` called the New York day
// "UTC".

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-limitday-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = (iso: string) => Date.parse(iso);

/** A filled order of `side` for LOWP at `price`, decided and filled at `when`. */
function fill(j: Journal, seq: number, side: 'buy' | 'sell', amount: number, price: number, when: number) {
  const leg = {
    leg: side === 'buy' ? ('entry' as const) : ('exit' as const),
    market: 'LOWP',
    side,
    type: 'market' as const,
    amount,
    refPrice: price,
    quote: amount * price,
  };
  const id = `c${seq}`;
  j.recordDecision({
    signal: baseSignal(seq) as Signal,
    receivedAt: when,
    decidedAt: when,
    decision: { verdict: 'trade', reason: side === 'buy' ? 'trade:entry' : 'trade:exit', legs: [leg] },
    intents: [{ clientOrderId: id, leg }],
  });
  j.updateIntent(id, { status: 'filled', filled: amount, avgPrice: price, feeQuote: 0 }, when);
}

describe("'today' is the day the daily limits count", () => {
  it('dashboard: on us_equity, today P&L sums the New York day, as the daily loss limit does', () => {
    const j = Journal.open(join(dir, 'journal.sqlite'));
    try {
      fill(j, 1, 'buy', 10, 3, at('2026-12-07T15:00:00Z')); // Mon 10:00 New York
      fill(j, 2, 'sell', 5, 4, at('2026-12-07T15:30:00Z')); // Mon 10:30 New York: +5
      fill(j, 3, 'sell', 5, 2.5, at('2026-12-08T01:00:00Z')); // Mon 20:00 New York (Tue UTC): -2.5
      const now = at('2026-12-08T01:30:00Z'); // Mon 20:30 New York, still Monday's trading day
      const config = testConfig({ exchange: { venue: 'us_equity' } });
      const limit = j.decisionState(now, { equity: 0, freeQuote: 0 }, limitDay('us_equity', now).start);
      expect(limit.dailyPnl).toBeCloseTo(2.5, 9);
      const snap = buildSnapshot(j, new DashboardFeed(j), { config, now: () => now });
      expect(snap.pnl.today_realized).toBeCloseTo(limit.dailyPnl, 9);
      // crypto_spot keeps the UTC day: only the sell after 00:00 UTC.
      const crypto = buildSnapshot(j, new DashboardFeed(j), { config: testConfig(), now: () => now });
      expect(crypto.pnl.today_realized).toBeCloseTo(-2.5, 9);
    } finally {
      j.close();
    }
  });

  it.each([
    ['us_equity', 'New York', 'America/New_York'],
    ['crypto_spot', 'UTC', 'UTC'],
  ] as const)('status on %s names the day it counts', async (venue, label, zone) => {
    writeConfig(dir, { server: { url: 'http://127.0.0.1:9' }, exchange: { venue } });
    mkdirSync(join(dir, 'catalyst-client-data'));
    Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite')).close();
    const env = { CATALYST_SERVER_KEY: 'cat_x' };
    const text = await runCli(['-c', 'catalyst.yaml', 'status'], env, dir);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(new RegExp(`^today \\(\\d{4}-\\d\\d-\\d\\d ${label}\\): P&L`, 'm'));
    const json = await runCli(['-c', 'catalyst.yaml', 'status', '--json'], env, dir);
    expect(JSON.parse(json.stdout).today.zone).toBe(zone);
  });
});
