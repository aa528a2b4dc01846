import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { step, type PriceStep, type RestingOrder } from '../src/paper/fill-rules.js';
import { walkPrices } from '../src/paper/prices.js';

// The paper fill rules (client/src/paper/fill-rules.ts), pure: a bracket stepped through the engine ends exactly
// as a plain tick-by-tick simulation says; a resting limit never fills at a price worse than its limit; when one
// step crosses both legs of an OCO pair the stop fills (the stated, conservative rule).

const cents = (lo: number, hi: number) => fc.integer({ min: lo * 100, max: hi * 100 }).map((n) => n / 100);
const tick = (t: number, p: number): PriceStep => ({ t, o: p, h: p, l: p, c: p });

function bracket(entry: number, tp: number, sl: number): RestingOrder[] {
  return [
    { id: 'e', side: 'buy', type: 'limit', amount: 10, limit: entry, extendedHours: false, state: 'open' },
    {
      id: 'tp',
      side: 'sell',
      type: 'limit',
      amount: 10,
      limit: tp,
      extendedHours: false,
      oco: 'e',
      parent: 'e',
      state: 'held',
    },
    {
      id: 'sl',
      side: 'sell',
      type: 'stop',
      amount: 10,
      stop: sl,
      extendedHours: false,
      oco: 'e',
      parent: 'e',
      state: 'held',
    },
  ];
}

type Outcome = { entry?: [number, number]; exit?: [string, number, number] };

/** The reference: a loop over ticks, no engine. */
function reference(path: number[], entry: number, tp: number, sl: number): Outcome {
  const out: Outcome = {};
  let i = 0;
  for (; i < path.length; i++) {
    if (path[i]! <= entry) {
      out.entry = [i, path[i]!];
      break;
    }
  }
  if (!out.entry) return out;
  for (let j = i + 1; j < path.length; j++) {
    const p = path[j]!;
    if (p <= sl) return { ...out, exit: ['sl', j, p] };
    if (p >= tp) return { ...out, exit: ['tp', j, p] };
  }
  return out;
}

function engine(path: number[], entry: number, tp: number, sl: number): Outcome {
  const out: Outcome = {};
  let orders = bracket(entry, tp, sl);
  path.forEach((p, i) => {
    const r = step(orders, tick(i, p), 'always');
    for (const f of r.fills) {
      if (f.id === 'e') out.entry = [i, f.price];
      else out.exit = [f.id, i, f.price];
    }
    orders = r.resting;
  });
  return out;
}

describe('paper fill rules (property)', () => {
  it("a bracket's outcome equals a tick-by-tick simulation", () => {
    fc.assert(
      fc.property(
        fc.array(cents(5, 15), { minLength: 1, maxLength: 80 }),
        cents(8, 12),
        cents(0, 3),
        cents(0.01, 3),
        (path, entry, up, down) => {
          const tp = entry + up + 0.01;
          const sl = entry - down;
          expect(engine(path, entry, tp, sl)).toEqual(reference(path, entry, tp, sl));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a resting limit never fills at a price worse than its limit, whatever the bar', () => {
    const bar = fc.tuple(cents(1, 50), cents(1, 50), cents(1, 50), cents(1, 50)).map(([a, b, c, d]) => {
      const h = Math.max(a, b, c, d);
      const l = Math.min(a, b, c, d);
      return { t: 1, o: a, h, l, c: d };
    });
    fc.assert(
      fc.property(
        fc.array(bar, { minLength: 1, maxLength: 20 }),
        cents(1, 50),
        fc.boolean(),
        (bars, limit, buy) => {
          let orders: RestingOrder[] = [
            {
              id: 'x',
              side: buy ? 'buy' : 'sell',
              type: 'limit',
              amount: 1,
              limit,
              extendedHours: false,
              state: 'open',
            },
          ];
          for (const b of bars) {
            const r = step(orders, b, 'always', 0.01);
            for (const f of r.fills) {
              if (buy) expect(f.price).toBeLessThanOrEqual(limit);
              else expect(f.price).toBeGreaterThanOrEqual(limit);
            }
            orders = r.resting;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('one step crossing both legs fills the stop and cancels the target (stated rule)', () => {
    const legs = bracket(10, 11, 9)
      .map((o) => (o.parent ? { ...o, state: 'open' as const } : o))
      .slice(1);
    const r = step(legs, { t: 1, o: 10, h: 11.5, l: 8.5, c: 10 }, 'regular');
    expect(r.fills).toEqual([{ id: 'sl', price: 9, amount: 10, t: 1 }]);
    expect(r.canceled).toEqual([{ id: 'tp', reason: 'oco' }]);
  });

  it('sessions and DAY expiry: a stop waits for the regular session, an extended-hours limit fills after hours, DAY expires', () => {
    const stop: RestingOrder = {
      id: 's',
      side: 'sell',
      type: 'stop',
      amount: 1,
      stop: 9,
      extendedHours: false,
      state: 'open',
    };
    const ext: RestingOrder = {
      id: 'l',
      side: 'buy',
      type: 'limit',
      amount: 1,
      limit: 5,
      extendedHours: true,
      expiresAt: 100,
      state: 'open',
    };
    const after = step([stop, ext], tick(50, 4), 'after');
    expect(after.fills.map((f) => f.id)).toEqual(['l']);
    expect(after.resting).toEqual([stop]);
    expect(step([ext], tick(100, 4), 'after')).toEqual({
      resting: [],
      fills: [],
      canceled: [{ id: 'l', reason: 'expired' }],
    });
    expect(step([stop], tick(60, 8), 'regular').fills).toEqual([{ id: 's', price: 8, amount: 1, t: 60 }]);
  });

  it('the walk is seeded: the same seed and times give the same path, around the anchor', async () => {
    const run = async (seed: number) => {
      const w = walkPrices({ seed, volatilityPctPerMin: 0.5, reversionPerMin: 0.05 });
      const out: PriceStep[] = [];
      for (let t = 0; t <= 600_000; t += 60_000)
        out.push((await w.next([{ symbol: 'ACME', anchor: 10 }], t)).get('ACME')!);
      return out;
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
    for (const s of a) {
      expect(s.l).toBeLessThanOrEqual(Math.min(s.o, s.c));
      expect(s.h).toBeGreaterThanOrEqual(Math.max(s.o, s.c));
      expect(s.c).toBeGreaterThan(5);
      expect(s.c).toBeLessThan(20);
    }
  });
});
