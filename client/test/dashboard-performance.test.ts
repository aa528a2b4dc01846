import { describe, expect, it } from 'vitest';
import { confidenceBucket, performance, roundTrips, tradeStats } from '../src/dashboard/performance.js';
import type { FillRow } from '../src/journal/index.js';

// Known answers for the dashboard's performance view (client/src/dashboard/performance.ts), worked by hand.

let n = 0;
function fill(
  market: string,
  side: 'buy' | 'sell',
  filled: number,
  price: number,
  fee: number,
  tag: Partial<Pick<FillRow, 'catalyst' | 'action' | 'direction' | 'confidence' | 'session'>> = {},
): FillRow {
  n++;
  return {
    client_order_id: `o${n}`,
    epoch: 'e',
    seq: n,
    market,
    side,
    leg: side === 'buy' ? 'entry' : 'exit',
    filled,
    avg_price: price,
    fee_quote: fee,
    fee_base: 0,
    updated_at: 1000 * n,
    catalyst: null,
    action: side === 'buy' ? 'enter' : 'exit',
    direction: side === 'buy' ? 'long' : null,
    confidence: null,
    session: null,
    ...tag,
  };
}

const exit = { catalyst: 'other', session: 'regular', confidence: 0.99 };
const fills = [
  // AAA: a win of 25 - 0.10 - (20 + 0.10) = 4.80, entered pre-market at confidence 0.55.
  fill('AAA', 'buy', 10, 2, 0.1, { catalyst: 'earnings', session: 'pre', confidence: 0.55 }),
  fill('AAA', 'sell', 10, 2.5, 0.1, exit),
  // BBB: sold in two executions: (36 - 0.04) + (48 - 0.06) - 100 = -16.10, regular session, confidence 0.95.
  fill('BBB', 'buy', 100, 1, 0, { catalyst: 'fda', session: 'regular', confidence: 0.95 }),
  fill('BBB', 'sell', 40, 0.9, 0.04, exit),
  fill('BBB', 'sell', 60, 0.8, 0.06, exit),
  // CCC: a win of 60 - 50 = 10, regular session, confidence exactly 1.
  fill('CCC', 'buy', 10, 5, 0, { catalyst: 'fda', session: 'regular', confidence: 1 }),
  fill('CCC', 'sell', 10, 6, 0, exit),
  // DDD: still held (5 bought at 3, marked at 4: +5 unrealised), no session and no confidence (crypto-like).
  fill('DDD', 'buy', 5, 3, 0, { catalyst: 'merger' }),
  // EEE: a sale of something held before this client: no round trip of ours.
  fill('EEE', 'sell', 1, 10, 0, exit),
];
const last = (m: string) => (m === 'DDD' ? 4 : undefined);
const byKey = (rows: { key: string; realized: number; unrealized: number; entries: number }[]) =>
  Object.fromEntries(rows.map((r) => [r.key, r]));

describe('performance view (known answers)', () => {
  it('confidence buckets are tenths, 1.0 in the top one, none without a confidence', () => {
    expect(confidenceBucket(0.5)).toBe('0.5–0.6');
    expect(confidenceBucket(0.59)).toBe('0.5–0.6');
    expect(confidenceBucket(0.6)).toBe('0.6–0.7');
    // 0.7 * 10 is 7.000000000000001 and 0.3 * 10 is 3.0000000000000004 in floating point: still their bucket.
    expect(confidenceBucket(0.7)).toBe('0.7–0.8');
    expect(confidenceBucket(0.3)).toBe('0.3–0.4');
    expect(confidenceBucket(0.9)).toBe('0.9–1.0');
    expect(confidenceBucket(1)).toBe('0.9–1.0');
    expect(confidenceBucket(0)).toBe('0.0–0.1');
    expect(confidenceBucket(null)).toBe('none');
  });

  it('round trips: flat to flat per market, fees on both sides, partial exits summed', () => {
    const t = roundTrips(fills);
    expect(t.open).toBe(1);
    expect(t.closed.map((x) => x.market)).toEqual(['AAA', 'BBB', 'CCC']);
    expect(t.closed[0]!.pnl).toBeCloseTo(4.8, 9);
    expect(t.closed[1]!.pnl).toBeCloseTo(-16.1, 9);
    expect(t.closed[1]).toMatchObject({ opened_at: 3000, closed_at: 5000 });
    expect(t.closed[2]!.pnl).toBeCloseTo(10, 9);
  });

  it('win rate, average win and average loss', () => {
    const s = tradeStats(roundTrips(fills));
    expect(s).toMatchObject({ closed: 3, wins: 2, losses: 1, open: 1 });
    expect(s.win_rate).toBeCloseTo(2 / 3, 12);
    expect(s.avg_win).toBeCloseTo((4.8 + 10) / 2, 9);
    expect(s.avg_loss).toBeCloseTo(-16.1, 9);
    expect(tradeStats({ closed: [], open: 0 })).toEqual({
      closed: 0,
      wins: 0,
      losses: 0,
      win_rate: null,
      avg_win: null,
      avg_loss: null,
      open: 0,
    });
  });

  it('P&L by session and by confidence: exits count for the entry that opened the position', () => {
    const p = performance(fills, last);
    const session = byKey(p.by_session);
    expect(session['pre']!.realized).toBeCloseTo(4.8, 9);
    // BBB and CCC, plus EEE's outside sale (decided in the regular session).
    expect(session['regular']!.realized).toBeCloseTo(-16.1 + 10 + 10, 9);
    expect(session['regular']!.entries).toBe(2);
    expect(session['n/a']!.unrealized).toBeCloseTo(5, 9);
    const conf = byKey(p.by_confidence);
    expect(conf['0.5–0.6']!.realized).toBeCloseTo(4.8, 9);
    // BBB and CCC, plus the outside sale of EEE (realised whole, in its own signal's buckets: 0.99).
    expect(conf['0.9–1.0']!.realized).toBeCloseTo(-6.1 + 10, 9);
    expect(conf['none']!.unrealized).toBeCloseTo(5, 9);
    const cat = byKey(p.by_catalyst);
    expect(cat['fda']!.realized).toBeCloseTo(-6.1, 9);
    expect(byKey(p.by_action)['enter long']!.entries).toBe(4);
    // Every breakdown splits the same total: the trips' -1.30 and the outside sale's 10.
    for (const rows of [p.by_catalyst, p.by_action, p.by_session, p.by_confidence])
      expect(rows.reduce((a, r) => a + r.realized, 0)).toBeCloseTo(p.realized, 9);
    expect(p.realized).toBeCloseTo(4.8 - 16.1 + 10 + 10, 9);
  });
});
