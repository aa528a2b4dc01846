import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinCalendar, newYorkToUtc } from '@catalyst-signal/shared/calendar';
import type { HorizonOutcome } from '@catalyst-signal/shared/outcomes';
import {
  aggregate,
  aggregateColumns,
  confidenceBucket,
  GROUP_BY,
  histogram,
  indexOutcomes,
  NONE,
  outcomeColumns,
  sessionOf,
  type SignalFacets,
} from '../src/outcomes/aggregate.js';
import { medianInterval, summarize, t975, wilsonInterval } from '../src/outcomes/stats.js';

// The track record's arithmetic: known answers (textbook tables, hand-computed groups) and properties on any
// set of signals and outcomes against a brute-force reference.

describe('statistics with 95 % intervals', () => {
  it("Student-t 97.5 % points match the tables (Hill's algorithm)", () => {
    const table: [number, number][] = [
      [1, 12.7062],
      [2, 4.3027],
      [3, 3.1824],
      [4, 2.7764],
      [5, 2.5706],
      [9, 2.2622],
      [29, 2.0452],
      [100, 1.984],
      [1000, 1.9623],
    ];
    for (const [df, want] of table) expect(t975(df)).toBeCloseTo(want, 3);
  });

  it("Wilson's interval and the median's order-statistic interval give the textbook answers", () => {
    const [lo0, hi0] = wilsonInterval(0, 10);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(0.2775, 4);
    const [lo5, hi5] = wilsonInterval(5, 10);
    expect(lo5).toBeCloseTo(0.2366, 4);
    expect(hi5).toBeCloseTo(0.7634, 4);
    // n = 20: x(6)..x(15) (coverage 95.9 %); below 6 values no order-statistic interval reaches 95 %.
    expect(medianInterval(Array.from({ length: 20 }, (_, i) => i + 1))).toEqual([6, 15]);
    expect(medianInterval([1, 2, 3, 4, 5, 6])).toEqual([1, 6]);
    expect(medianInterval([1, 2, 3, 4, 5])).toBeUndefined();
    // Above 1,000 values the rank comes from the normal approximation: within one rank of the exact binomial's.
    const exactRank = (n: number) => {
      let logPmf = -n * Math.LN2;
      let cdf = 0;
      let j = 0;
      for (let k = 0; cdf + Math.exp(logPmf) <= 0.025; k++) {
        cdf += Math.exp(logPmf);
        j = k + 1;
        logPmf += Math.log(n - k) - Math.log(k + 1);
      }
      return j;
    };
    for (const n of [1001, 1500, 4000, 10_007, 50_000]) {
      const ranks = Array.from({ length: n }, (_, i) => i + 1);
      const [lo, hi] = medianInterval(ranks)!;
      expect(Math.abs(lo - exactRank(n)), `n=${n}`).toBeLessThanOrEqual(1);
      expect(hi).toBe(n + 1 - lo);
    }
  });

  it('summarizes returns: hit rate counts > 0 only, mean with a t-interval, nothing for no values', () => {
    const s = summarize([0.02, -0.01, 0, 0.03])!;
    expect(s.n).toBe(4);
    expect(s.hits).toBe(2);
    expect(s.hitRate).toBe(0.5);
    expect(s.mean).toBeCloseTo(0.01, 12);
    expect(s.median).toBeCloseTo(0.01, 12);
    // sd = sqrt(((0.01)^2 + (0.02)^2 + (0.01)^2 + (0.02)^2) / 3) = 0.018257; half = 3.1824 * sd / 2.
    const half = (3.1824 * Math.sqrt(0.001 / 3)) / 2;
    expect(s.meanCi![0]).toBeCloseTo(0.01 - half, 4);
    expect(s.meanCi![1]).toBeCloseTo(0.01 + half, 4);
    expect(s.medianCi).toBeUndefined();
    expect(summarize([0.05])!.meanCi).toBeUndefined();
    expect(summarize([])).toBeUndefined();
  });
});

const T0 = Date.parse('2026-11-23T15:00:00Z');
function facets(seq: number, over: Partial<SignalFacets> = {}): SignalFacets {
  return {
    seq,
    at: T0 + seq * 60_000,
    symbol: 'AAA',
    action: 'enter',
    catalyst: 'fda',
    session: 'regular',
    confidence: 0.8,
    keywords: [],
    ...over,
  };
}
const out = (horizon: string, ret: number | undefined, missing?: 'no_bars'): HorizonOutcome => ({
  horizon,
  minutes: 5,
  bars: ret === undefined ? 0 : 5,
  ret,
  missing,
  abnormalRet: ret === undefined ? undefined : ret - 0.001,
});

describe('aggregates by group', () => {
  it('groups by catalyst, action, session, confidence, keyword and publisher; missing and pending are counts, not zeros', () => {
    const signals = [
      facets(1, { catalyst: 'fda', keywords: ['fda', 'approval'], publisher: 'businesswire' }),
      facets(2, { catalyst: 'fda', action: 'avoid', confidence: 0.55, session: 'pre' }),
      facets(3, { catalyst: 'earnings', keywords: ['fda'], confidence: 0.95, publisher: 'globenewswire' }),
      facets(4, { catalyst: 'earnings', action: 'info', session: 'after', confidence: 0.3 }),
    ];
    const outcomes = indexOutcomes([
      { seq: 1, outcome: out('5m', 0.02) },
      { seq: 1, outcome: out('1h', 0.04) },
      // The avoid's price fell: judged as a short, its ret is positive (it saved money): a hit.
      { seq: 2, outcome: out('5m', 0.01) },
      { seq: 3, outcome: out('5m', undefined, 'no_bars') },
      { seq: 4, outcome: out('5m', -0.03) },
    ]);
    const a = aggregate(signals, outcomes, ['5m', '1h']);

    const all5 = a.overall.horizons[0]!;
    expect(all5).toMatchObject({ horizon: '5m', signals: 4, missing: { no_bars: 1 }, pending: 0 });
    expect(all5.ret).toMatchObject({ n: 3, hits: 2 });
    expect(all5.ret!.mean).toBeCloseTo(0, 12);
    expect(all5.meanAbnormal).toBeCloseTo(-0.001, 12);
    const all1h = a.overall.horizons[1]!;
    expect(all1h).toMatchObject({ signals: 4, missing: {}, pending: 3 });
    expect(all1h.ret).toMatchObject({ n: 1, mean: 0.04, meanCi: undefined });

    const keyed = (by: (typeof GROUP_BY)[number]) => Object.fromEntries(a.groups[by].map((g) => [g.key, g]));
    expect(a.groups.catalyst.map((g) => g.key)).toEqual(['earnings', 'fda']);
    expect(keyed('catalyst').fda!.horizons[0]!.ret!.mean).toBeCloseTo(0.015, 12);
    // earnings at 5m: one no_bars, one -3 %: the missing one is not averaged in as a zero.
    expect(keyed('catalyst').earnings!.horizons[0]).toMatchObject({ missing: { no_bars: 1 } });
    expect(keyed('catalyst').earnings!.horizons[0]!.ret).toMatchObject({ n: 1, mean: -0.03, hits: 0 });
    expect(keyed('action').avoid!.horizons[0]!.ret).toMatchObject({ n: 1, hits: 1, hitRate: 1 });
    expect(Object.keys(keyed('session'))).toEqual(['after', 'pre', 'regular']);
    expect(Object.keys(keyed('confidence'))).toEqual(['0.5-0.6', '0.8-0.9', '0.9-1', '<0.5']);
    // A signal counts in each of its keywords' groups; none: its own group.
    expect(keyed('keyword').fda!.signals).toBe(2);
    expect(keyed('keyword').approval!.signals).toBe(1);
    expect(keyed('keyword')[NONE]!.signals).toBe(2);
    expect(keyed('publisher').businesswire!.signals).toBe(1);
    expect(keyed('publisher')[NONE]!.signals).toBe(2);
  });

  it('buckets confidence by tenths and places a signal in its session by the New York calendar', () => {
    expect([0, 0.49, 0.5, 0.59, 0.6, 0.7, 0.85, 0.9, 1].map(confidenceBucket)).toEqual([
      '<0.5',
      '<0.5',
      '0.5-0.6',
      '0.5-0.6',
      '0.6-0.7',
      '0.7-0.8',
      '0.8-0.9',
      '0.9-1',
      '0.9-1',
    ]);
    const cal = builtinCalendar(Date.parse('2026-11-23T00:00:00Z'), 7);
    const at = (hm: string, date = '2026-11-23') => sessionOf(newYorkToUtc(date, hm), cal);
    expect([
      at('03:59'),
      at('04:00'),
      at('09:29'),
      at('09:30'),
      at('15:59'),
      at('16:00'),
      at('20:00'),
    ]).toEqual(['closed', 'pre', 'pre', 'regular', 'regular', 'after', 'closed']);
    // Thanksgiving (closed) and the day after (early close at 13:00).
    expect(at('10:00', '2026-11-26')).toBe('closed');
    expect(at('13:30', '2026-11-27')).toBe('after');
  });

  it('bins the distribution with open outer bins and clean edges', () => {
    const h = histogram([-0.5, -0.1, -0.0001, 0, 0.02, 0.0999, 0.1, 3], 0.05, 0.1);
    expect(h).toEqual([
      { from: null, to: -0.1, count: 1 },
      { from: -0.1, to: -0.05, count: 1 },
      { from: -0.05, to: 0, count: 1 },
      { from: 0, to: 0.05, count: 2 },
      { from: 0.05, to: 0.1, count: 1 },
      { from: 0.1, to: null, count: 2 },
    ]);
  });

  it('on any signals and outcomes: every signal is counted once as a figure, missing or pending; figures equal a brute-force reference', () => {
    const facet = fc.record({
      action: fc.constantFrom('enter', 'exit', 'avoid', 'info' as const),
      catalyst: fc.constantFrom('fda', 'earnings', 'merger'),
      session: fc.constantFrom('pre', 'regular', 'after', 'closed' as const),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
      publisher: fc.option(fc.constantFrom('bw', 'gnw'), { nil: undefined }),
      keywords: fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
    });
    const outcome = fc.oneof(
      fc.constant<'pending'>('pending'),
      fc.constant<'no_bars'>('no_bars'),
      fc.double({ min: -0.5, max: 0.5, noNaN: true }),
    );
    const horizons = ['5m', '1h'];
    fc.assert(
      fc.property(fc.array(fc.tuple(facet, outcome, outcome), { maxLength: 40 }), (rows) => {
        const signals = rows.map(([f], i) => facets(i + 1, f));
        const outs = indexOutcomes(
          rows.flatMap(([, ...byH], i) =>
            byH.flatMap((o, h) =>
              o === 'pending'
                ? []
                : [
                    {
                      seq: i + 1,
                      outcome: out(
                        horizons[h]!,
                        o === 'no_bars' ? undefined : o,
                        o === 'no_bars' ? o : undefined,
                      ),
                    },
                  ],
            ),
          ),
        );
        const a = aggregate(signals, outs, horizons);
        // The route's path (columns merged from rows in seq order, some for signals not selected) agrees.
        const selected = signals.filter((s) => s.seq % 3 !== 0);
        const rowsInOrder = [...outs].flatMap(([seq, m]) =>
          [...m.values()].map((outcome) => ({ seq, outcome })),
        );
        expect(aggregateColumns(selected, outcomeColumns(selected, rowsInOrder, horizons), horizons)).toEqual(
          aggregate(selected, outs, horizons),
        );
        for (const g of [a.overall, ...GROUP_BY.flatMap((by) => a.groups[by])]) {
          for (const [h, st] of g.horizons.entries()) {
            const n = st.ret?.n ?? 0;
            expect(n + (st.missing.no_bars ?? 0) + st.pending).toBe(g.signals);
            if (!st.ret) continue;
            const r = st.ret;
            expect(r.hitRate).toBeGreaterThanOrEqual(r.hitRateCi[0]);
            expect(r.hitRate).toBeLessThanOrEqual(r.hitRateCi[1]);
            if (r.meanCi) {
              expect(r.meanCi[0]).toBeLessThanOrEqual(r.mean + 1e-12);
              expect(r.meanCi[1]).toBeGreaterThanOrEqual(r.mean - 1e-12);
            }
            if (r.medianCi) {
              expect(r.medianCi[0]).toBeLessThanOrEqual(r.median);
              expect(r.medianCi[1]).toBeGreaterThanOrEqual(r.median);
            }
            void h;
          }
        }
        // Brute force: overall figures straight from the rows; each action's n adds up to the overall n.
        for (const [h] of horizons.entries()) {
          const vals = rows.map((r) => r[1 + h]).filter((o): o is number => typeof o === 'number');
          const st = a.overall.horizons[h]!;
          expect(st.ret?.n ?? 0).toBe(vals.length);
          expect(st.ret?.hits ?? 0).toBe(vals.filter((v) => v > 0).length);
          if (vals.length) expect(st.ret!.mean).toBeCloseTo(vals.reduce((x, y) => x + y, 0) / vals.length, 9);
          const byAction = a.groups.action.reduce((s, g) => s + (g.horizons[h]!.ret?.n ?? 0), 0);
          expect(byAction).toBe(vals.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
