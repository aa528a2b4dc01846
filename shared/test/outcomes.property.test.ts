import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinCalendar, newYorkToUtc } from '../src/calendar/index.js';
import type { Bar } from '../src/market-data/index.js';
import { computeOutcomes, TradingClock, type OutcomeSignal } from '../src/outcomes/index.js';

// The outcome arithmetic against brute-force references on any price path: ticks inside each 1-minute bar (the
// bar is their open/high/low/close), a bracket simulated trade by trade, trading minutes counted one by one with
// the platform's own New York time zone (Intl), not the code under test's daylight-saving rule.

const cal = builtinCalendar(Date.UTC(2026, 10, 20), 30);
const clock = new TradingClock(cal);
const MIN = 60_000;
const T0 = newYorkToUtc('2026-11-23', '04:00');

const nyFmt = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const days = new Map(cal.map((d) => [d.date, d]));
/** Is the minute starting at `t` inside a session? (Intl + the calendar rows, minute by minute.) */
function inSessionBrute(t: number): boolean {
  const p = Object.fromEntries(nyFmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  const d = days.get(`${p['year']}-${p['month']}-${p['day']}`);
  if (!d) return false;
  const hm = `${p['hour']}${p['minute']}`;
  return hm >= d.sessionOpen.replace(':', '') && hm < d.sessionClose.replace(':', '');
}

describe('trading time against a minute-by-minute count', () => {
  it('between(a, b) counts the session minutes; add(t, n) lands n of them later, at a session minute', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 * 1440 }), fc.integer({ min: 0, max: 3000 }), (off, n) => {
        const a = T0 + off * MIN;
        const b = a + n * MIN;
        let brute = 0;
        for (let t = a; t < b; t += MIN) if (inSessionBrute(t)) brute++;
        expect(clock.between(a, b)).toBe(brute);
        const start = clock.align(a)!;
        expect(inSessionBrute(start)).toBe(true);
        for (let t = a; t < start; t += MIN) expect(inSessionBrute(t)).toBe(false);
        const end = clock.add(a, n)!;
        expect(clock.between(start, end)).toBe(n);
        if (n > 0) expect(inSessionBrute(end - MIN)).toBe(true);
      }),
      { numRuns: 80 },
    );
  });
});

interface Path {
  signal: OutcomeSignal;
  bars: Bar[];
  ticks: number[][];
}

const pct = (wide: number) =>
  fc
    .noBias(
      fc.oneof(
        { arbitrary: fc.integer({ min: -wide, max: wide }), weight: 1 },
        { arbitrary: fc.integer({ min: -100, max: 100 }), weight: 4 },
      ),
    )
    .map((x) => x / 10_000);

/** A signal and a gappy path of bars after it, each bar built from 1-6 trades. */
const pathArb: fc.Arbitrary<Path> = fc
  .record({
    off: fc.integer({ min: 0, max: 3 * 1440 }),
    // Sometimes put both legs inside the first bar's range, so that one bar crosses both.
    straddle: fc.boolean(),
    price: fc.integer({ min: 20, max: 5000 }).map((c) => c / 100),
    side: fc.constantFrom('long' as const, 'short' as const),
    // Tight brackets too, so that one bar sometimes crosses both legs.
    stopPct: fc.option(pct(2000)),
    targetPct: fc.option(pct(3000)),
    steps: fc.array(
      fc.record({
        skip: fc.integer({ min: 0, max: 40 }),
        moves: fc.array(
          fc.noBias(fc.integer({ min: -300, max: 300 })).map((x) => x / 10_000),
          { minLength: 1, maxLength: 6 },
        ),
      }),
      { maxLength: 120, size: 'medium' },
    ),
  })
  .map(({ off, straddle, price, side, stopPct, targetPct, steps }) => {
    const at = T0 + off * MIN + (off % 7) * 1000;
    const signal: OutcomeSignal = {
      at,
      price,
      side,
      stop: stopPct === null ? undefined : price * (1 + stopPct),
      target: targetPct === null ? undefined : price * (1 + targetPct),
    };
    const bars: Bar[] = [];
    const ticks: number[][] = [];
    let p = price;
    // Some bars start before the signal: they must not count.
    let t = clock.align(at - 5 * MIN)!;
    for (const s of steps) {
      t = clock.add(t, s.skip % 3 === 0 ? s.skip : s.skip % 3)!;
      const tk = s.moves.map((m) => (p = Math.max(0.01, p * (1 + m))));
      ticks.push(tk);
      bars.push({
        t,
        o: tk[0]!,
        h: Math.max(...tk),
        l: Math.min(...tk),
        c: tk[tk.length - 1]!,
        v: tk.length,
      });
      t = clock.add(t, 1)!;
    }
    const b = bars.find((x) => x.t >= clock.align(at)!);
    if (straddle && b && b.l < Math.min(b.o, price) && b.h > Math.max(b.o, price)) {
      const low = (b.l + Math.min(b.o, price)) / 2;
      const high = (b.h + Math.max(b.o, price)) / 2;
      signal.stop = side === 'long' ? low : high;
      signal.target = side === 'long' ? high : low;
    }
    return { signal, bars, ticks };
  });

/** A bracket leg by leg, trade by trade; between trades inside a bar the price moves continuously. */
function simulateBracket(s: OutcomeSignal, bars: Bar[], ticks: number[][], win: Set<number>) {
  const long = s.side === 'long';
  const stop = s.stop !== undefined && (long ? s.stop < s.price : s.stop > s.price) ? s.stop : undefined;
  const target =
    s.target !== undefined && (long ? s.target > s.price : s.target < s.price) ? s.target : undefined;
  if (stop === undefined && target === undefined) return undefined;
  const stopAt = (p: number) => stop !== undefined && (long ? p <= stop : p >= stop);
  const targetAt = (p: number) => target !== undefined && (long ? p >= target : p <= target);
  let last: number | undefined;
  for (let i = 0; i < bars.length; i++) {
    if (!win.has(i)) continue;
    const tk = ticks[i]!;
    if (stopAt(tk[0]!)) return { first: 'stop', exitPrice: tk[0]!, barT: bars[i]!.t };
    if (targetAt(tk[0]!)) return { first: 'target', exitPrice: tk[0]!, barT: bars[i]!.t };
    for (let k = 1; k < tk.length; k++) {
      if (stopAt(tk[k]!)) return { first: 'stop', exitPrice: stop!, barT: bars[i]!.t };
      if (targetAt(tk[k]!)) return { first: 'target', exitPrice: target!, barT: bars[i]!.t };
    }
    last = tk[tk.length - 1];
  }
  return last === undefined ? undefined : { first: 'neither', exitPrice: last, barT: undefined };
}

describe('outcomes on any bar path', () => {
  it('MFE >= return >= MAE at every horizon, excursions equal the extreme trades, and grow with the horizon', () => {
    fc.assert(
      fc.property(pathArb, ({ signal, bars, ticks }) => {
        const out = computeOutcomes(signal, bars, cal, Number.MAX_SAFE_INTEGER);
        const dir = signal.side === 'long' ? 1 : -1;
        let prev = { mfe: 0, mae: 0 };
        for (const o of out) {
          if (o.missing) {
            expect(o.ret).toBeUndefined();
            expect(bars.some((b) => b.t >= o.start! && b.t < o.end!)).toBe(o.missing !== 'no_bars');
            continue;
          }
          const idx = bars.flatMap((b, i) => (b.t >= o.start! && b.t < o.end! ? [i] : []));
          expect(o.bars).toBe(idx.length);
          const trades = [signal.price, ...idx.flatMap((i) => ticks[i]!)].map(
            (p) => dir * (p / signal.price - 1),
          );
          expect(o.mfe!).toBeGreaterThanOrEqual(o.ret! - 1e-12);
          expect(o.ret!).toBeGreaterThanOrEqual(o.mae! - 1e-12);
          expect(o.mfe!).toBeCloseTo(Math.max(...trades), 12);
          expect(o.mae!).toBeCloseTo(Math.min(...trades), 12);
          expect(o.mfe!).toBeGreaterThanOrEqual(prev.mfe - 1e-12);
          expect(o.mae!).toBeLessThanOrEqual(prev.mae + 1e-12);
          expect(o.firstTradePrice).toBe(ticks[idx[0]!]![0]);
          prev = { mfe: o.mfe!, mae: o.mae! };
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a bracket's outcome equals a trade-by-trade simulation of its legs, except that a bar crossing both says stop", () => {
    let ambiguous = 0;
    let decided = 0;
    fc.assert(
      fc.property(pathArb, ({ signal, bars, ticks }) => {
        const out = computeOutcomes(signal, bars, cal, Number.MAX_SAFE_INTEGER);
        for (const o of out) {
          if (o.missing) continue;
          const win = new Set(bars.flatMap((b, i) => (b.t >= o.start! && b.t < o.end! ? [i] : [])));
          const sim = simulateBracket(signal, bars, ticks, win);
          if (!sim) {
            expect(o.bracket).toBeUndefined();
            continue;
          }
          const got = o.bracket!;
          expect(got.barT).toBe(sim.barT);
          const bar = bars.find((b) => b.t === got.barT);
          const long = signal.side === 'long';
          const { stop, target } = signal;
          const valid =
            stop !== undefined &&
            target !== undefined &&
            (long
              ? stop < signal.price && target > signal.price
              : stop > signal.price && target < signal.price);
          const both =
            valid &&
            bar !== undefined &&
            (long ? bar.l <= stop && bar.h >= target : bar.h >= stop && bar.l <= target) &&
            !(long ? bar.o <= stop || bar.o >= target : bar.o >= stop || bar.o <= target);
          if (both) {
            ambiguous++;
            expect(got.first).toBe('stop');
            expect(got.exitPrice).toBe(signal.stop);
          } else {
            if (got.first !== 'neither') decided++;
            expect({ first: got.first, exitPrice: got.exitPrice }).toEqual({
              first: sim.first,
              exitPrice: sim.exitPrice,
            });
          }
        }
      }),
      { numRuns: 300 },
    );
    // The generator reaches both kinds of bars.
    console.log('DBG', decided, ambiguous);
    expect(decided).toBeGreaterThan(0);
    expect(ambiguous).toBeGreaterThan(0);
  });
});
