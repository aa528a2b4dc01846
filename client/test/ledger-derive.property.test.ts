import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveLedger, type FillFact } from '../src/decide/ledger.js';

// Positions, average entry, realised P&L and fees derived from fill facts only: the broker's stream may send an
// event twice or out of order, and a REST read-back reports again what the stream said. Any order of any number of
// copies of the same facts must give the same ledger.

const qty = fc.integer({ min: 1, max: 50 });
const px = fc.integer({ min: 100, max: 50_000 }).map((n) => n / 100);

/** A few orders on two markets, each filled in 1..3 executions; as the stream reports them (cum + avg + price). */
const history = fc
  .array(
    fc.record({
      market: fc.constantFrom('AAA', 'BBB'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      execs: fc.array(fc.record({ qty, price: px }), { minLength: 1, maxLength: 3 }),
      at: fc.integer({ min: 0, max: 1_000 }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((orders) => {
    const facts: FillFact[] = [];
    orders.forEach((o, i) => {
      let cum = 0;
      let value = 0;
      o.execs.forEach((e, j) => {
        cum += e.qty;
        value += e.qty * e.price;
        facts.push({
          order: `o${i}`,
          market: o.market,
          side: o.side,
          cum,
          avg: value / cum,
          price: e.price,
          at: o.at + j,
        });
      });
    });
    return facts;
  });

const norm = (l: ReturnType<typeof deriveLedger>) => ({
  positions: l.positions.map((p) => ({
    ...p,
    amount: +p.amount.toFixed(6),
    cost: +p.cost.toFixed(4),
    avgEntry: +p.avgEntry.toFixed(6),
  })),
  realized: +l.realized.toFixed(4),
  filled: [...l.filled.entries()].sort(),
});

describe('ledger derived from fills (property)', () => {
  it('any order of duplicated / reordered facts gives the same state', () => {
    fc.assert(
      fc.property(
        history,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (facts, dupIdx, seed) => {
          const noisy = [
            ...facts,
            ...dupIdx.filter(() => facts.length > 0).map((i) => facts[i % facts.length]!),
          ];
          // Shuffle deterministically from the seed.
          let s = seed;
          for (let i = noisy.length - 1; i > 0; i--) {
            s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
            const j = s % (i + 1);
            [noisy[i], noisy[j]] = [noisy[j]!, noisy[i]!];
          }
          expect(norm(deriveLedger(noisy))).toEqual(norm(deriveLedger(facts)));
        },
      ),
    );
  });

  it("a REST read-back of the total beside the stream's executions changes nothing", () => {
    fc.assert(
      fc.property(history, (facts) => {
        // The REST order read knows each order's final cumulative quantity and average, not the executions.
        const last = new Map<string, FillFact>();
        for (const f of facts) if ((last.get(f.order)?.cum ?? 0) < f.cum) last.set(f.order, f);
        const rest = [...last.values()].map((f) => ({ ...f, price: undefined, at: f.at + 5 }));
        expect(norm(deriveLedger([...facts, ...rest]))).toEqual(norm(deriveLedger(facts)));
      }),
    );
  });

  it('positions come from what filled, never from what was asked; a round trip realises proceeds - cost', () => {
    const l = deriveLedger([
      { order: 'b', market: 'AAA', side: 'buy', cum: 4, avg: 10, price: 10, at: 1 },
      { order: 'b', market: 'AAA', side: 'buy', cum: 10, avg: 10.6, price: 11, at: 2 },
      { order: 's', market: 'AAA', side: 'sell', cum: 10, avg: 12, at: 3 },
    ]);
    expect(l.positions).toEqual([]);
    expect(l.realized).toBeCloseTo(10 * 12 - 106, 9);
    const part = deriveLedger([{ order: 'b', market: 'AAA', side: 'buy', cum: 4, avg: 10, at: 1 }]);
    expect(part.positions).toEqual([{ market: 'AAA', amount: 4, cost: 40, avgEntry: 10 }]);
  });
});
