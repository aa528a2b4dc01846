import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionKey, attributePnl, equityCurve } from '../src/dashboard/attribution.js';
import { signalPnl } from '../src/dashboard/story.js';
import type { FillRow } from '../src/journal/index.js';
import { applyFill, type Holding } from '../src/ledger-math.js';

// P&L by catalyst kind / action (the dashboard's bars) is a split of the journal's realized P&L: whatever the
// fills, the buckets add up to exactly what the journal's own average-cost rule (applyFill) realizes.

const CATALYSTS = ['earnings', 'fda', 'merger'];
const fill = fc.record({
  market: fc.constantFrom('BTC/USDT', 'ETH/USDT'),
  side: fc.constantFrom<'buy' | 'sell'>('buy', 'buy', 'sell'),
  filled: fc.integer({ min: 1, max: 10_000 }).map((n) => n / 100),
  avg_price: fc.integer({ min: 1, max: 1_000_000 }).map((n) => n / 100),
  fee_quote: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
  catalyst: fc.constantFrom(...CATALYSTS),
  direction: fc.constantFrom('long', 'short'),
});

type Fill = typeof fill extends fc.Arbitrary<infer T> ? T : never;

function rows(fs: Fill[]): FillRow[] {
  return fs.map((f, i) => ({
    ...f,
    epoch: 'e',
    seq: i,
    client_order_id: `o${i}`,
    leg: f.side === 'buy' ? 'entry' : 'exit',
    fee_base: 0,
    updated_at: 1000 + i,
    action: null,
    confidence: null,
    session: null,
  }));
}

describe('P&L attribution (property)', () => {
  it('buckets by catalyst and by action each sum to the journal-rule realized P&L', () => {
    fc.assert(
      fc.property(fc.array(fill, { maxLength: 30 }), (fs) => {
        const r = rows(fs);
        const held = new Map<string, Holding>();
        let journal = 0;
        let orphan = 0; // sold while this client held nothing: no signal's lot to credit it to
        for (const f of r) {
          const h = held.get(f.market) ?? { amount: 0, cost: 0 };
          const empty = h.amount <= 1e-12;
          const value = f.filled * f.avg_price!;
          const { next, realized } = applyFill(h, f.side, {
            amount: f.filled,
            value,
            feeQuote: f.fee_quote,
            feeBase: 0,
          });
          held.set(f.market, next);
          journal += realized ?? 0;
          if (f.side === 'sell' && empty) orphan += realized ?? 0;
        }
        const a = attributePnl(r, () => 1);
        const sum = (b: { realized: number }[]) => b.reduce((n, x) => n + x.realized, 0);
        const tol = 1e-6 * (1 + Math.abs(journal));
        expect(Math.abs(a.realized - journal)).toBeLessThan(tol);
        expect(Math.abs(sum(a.byCatalyst) - journal)).toBeLessThan(tol);
        expect(Math.abs(sum(a.byAction) - journal)).toBeLessThan(tol);
        // A row's story (each buying signal's lot) splits the same realized P&L once more.
        let stories = 0;
        for (const f of r)
          if (f.side === 'buy') stories += signalPnl(r, f.epoch, f.seq, f.market, 1).realized ?? 0;
        expect(Math.abs(stories + orphan - journal)).toBeLessThan(tol);
        // Entries are counted per buy fill.
        const buys = r.filter((f) => f.side === 'buy').length;
        expect(a.byCatalyst.reduce((n, b) => n + b.entries, 0)).toBe(buys);
      }),
    );
  });

  it('a v1 signal (no action) with long/short is an entry; neutral is info', () => {
    expect(actionKey(null, 'long')).toBe('enter long');
    expect(actionKey('enter', 'short')).toBe('enter short');
    expect(actionKey('exit', null)).toBe('exit');
    expect(actionKey(null, 'neutral')).toBe('info');
  });

  it('the equity curve starts at the starting balance, ends at balance + realized + unrealized, and is bounded', () => {
    const realized = Array.from({ length: 2000 }, (_, i) => ({ at: 10 + i, realized: 1 }));
    const c = equityCurve(1000, realized, 5, 5000, 5, 500);
    expect(c.length).toBe(500);
    expect(c[0]).toEqual({ at: 5, equity: 1000 });
    expect(c.at(-1)).toEqual({ at: 5000, equity: 1000 + 2000 + 5 });
    expect(equityCurve(1000, [], 0, 7, undefined)).toEqual([{ at: 7, equity: 1000 }]);
  });
});
