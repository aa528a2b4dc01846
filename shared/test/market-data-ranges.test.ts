import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeRanges, missingRanges, RateGate, type Range } from '../src/market-data/index.js';

// The pure parts of the market-data seam: what a cache still has to fetch, and the client-side call limit.

const range = fc
  .tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 60 }))
  .map(([a, n]) => [a, a + n] as Range);

describe('missingRanges', () => {
  it('covered + missing = exactly the request, point by point, missing parts disjoint and sorted', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 8 }), range, (covered, [start, end]) => {
        const miss = missingRanges(start, end, covered);
        for (let x = start; x < end; x++) {
          const inCovered = covered.some(([a, b]) => x >= a && x < b);
          const inMissing = miss.filter(([a, b]) => x >= a && x < b).length;
          expect(inMissing).toBe(inCovered ? 0 : 1);
        }
        for (const [a, b] of miss) expect(a >= start && b <= end && b > a).toBe(true);
        expect(mergeRanges(miss)).toEqual(miss.map(([a, b]) => [a, b]));
      }),
    );
  });
});

describe('RateGate', () => {
  it('never lets more than `limit` calls into any window, and waits only as long as needed', async () => {
    let now = 0;
    const gate = new RateGate({
      limit: 3,
      windowMs: 60_000,
      now: () => now,
      sleep: async (ms) => void (now += ms),
    });
    const at: number[] = [];
    for (let i = 0; i < 10; i++) {
      await gate.take();
      at.push(now);
    }
    expect(at).toEqual([0, 0, 0, 60_000, 60_000, 60_000, 120_000, 120_000, 120_000, 180_000]);
    expect(() => new RateGate({ limit: 0, windowMs: 1 })).toThrow(/limit must be >= 1/);
  });
});
