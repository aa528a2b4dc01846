import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFill, mergeFill, type FillTotals, type Holding } from '../src/ledger-math.js';

// Pure fill/P&L arithmetic (what the journal stores): idempotent under repeated reports, never a negative
// position, and a full round trip realizes exactly proceeds - fees - cost.

const ZERO: FillTotals = { filled: 0, avgPrice: null, feeQuote: 0, feeBase: 0 };
const amount = fc.integer({ min: 1, max: 1_000_000 }).map((n) => n / 1000);
const price = fc.integer({ min: 1, max: 10_000_000 }).map((n) => n / 100);

describe('ledger math (property)', () => {
  it('a report merged twice changes nothing the second time; totals never go backwards', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ filled: amount, avgPrice: price, feeQuote: fc.nat(100) }), { maxLength: 10 }),
        (reports) => {
          let t = ZERO;
          for (const r of reports) {
            const a = mergeFill(t, r);
            const b = mergeFill(a.next, r);
            expect(b.delta).toBeUndefined();
            expect(b.next).toEqual(a.next);
            expect(a.next.filled).toBeGreaterThanOrEqual(t.filled);
            expect(a.next.feeQuote).toBeGreaterThanOrEqual(t.feeQuote);
            t = a.next;
          }
        },
      ),
    );
  });

  it('the fill amounts of all deltas add up to the final cumulative fill', () => {
    fc.assert(
      fc.property(fc.array(amount, { minLength: 1, maxLength: 10 }), (steps) => {
        let t = ZERO;
        let sum = 0;
        let cum = 0;
        for (const s of steps) {
          cum += s;
          const { next, delta } = mergeFill(t, { filled: cum, avgPrice: 10 });
          sum += delta?.amount ?? 0;
          t = next;
        }
        expect(sum).toBeCloseTo(cum, 6);
      }),
    );
  });

  it('a sell never leaves a negative amount or cost, and a full round trip realizes proceeds - fees - cost', () => {
    fc.assert(
      fc.property(
        amount,
        price,
        price,
        fc.nat(1000),
        fc.nat(1000),
        amount,
        (qty, buyAt, sellAt, fb, fs, oversell) => {
          const h0: Holding = { amount: 0, cost: 0 };
          const buyFee = fb / 100;
          const sellFee = fs / 100;
          const { next: h1 } = applyFill(h0, 'buy', {
            amount: qty,
            value: qty * buyAt,
            feeQuote: buyFee,
            feeBase: 0,
          });
          expect(h1.amount).toBeCloseTo(qty, 9);
          const { next: h2, realized } = applyFill(h1, 'sell', {
            amount: qty + oversell,
            value: (qty + oversell) * sellAt,
            feeQuote: sellFee,
            feeBase: 0,
          });
          expect(h2).toEqual({ amount: 0, cost: 0 });
          // Selling more than held realizes against the whole basis, once.
          expect(realized!).toBeCloseTo((qty + oversell) * sellAt - sellFee - (qty * buyAt + buyFee), 4);
        },
      ),
    );
  });

  it('partial sells release cost in proportion and the parts add up to one full sell', () => {
    fc.assert(
      fc.property(amount, price, price, fc.integer({ min: 1, max: 99 }), (qty, buyAt, sellAt, pct) => {
        const { next: h } = applyFill({ amount: 0, cost: 0 }, 'buy', {
          amount: qty,
          value: qty * buyAt,
          feeQuote: 0,
          feeBase: 0,
        });
        const part = (qty * pct) / 100;
        const a = applyFill(h, 'sell', { amount: part, value: part * sellAt, feeQuote: 0, feeBase: 0 });
        expect(a.next.amount).toBeGreaterThanOrEqual(0);
        expect(a.next.cost).toBeCloseTo(h.cost * (1 - pct / 100), 4);
        const b = applyFill(a.next, 'sell', {
          amount: qty - part,
          value: (qty - part) * sellAt,
          feeQuote: 0,
          feeBase: 0,
        });
        const whole = applyFill(h, 'sell', { amount: qty, value: qty * sellAt, feeQuote: 0, feeBase: 0 });
        expect(a.realized! + b.realized!).toBeCloseTo(whole.realized!, 4);
      }),
    );
  });
});
