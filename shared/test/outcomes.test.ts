import { describe, expect, it } from 'vitest';
import { builtinCalendar, newYorkToUtc } from '../src/calendar/index.js';
import type { Bar } from '../src/market-data/index.js';
import {
  computeOutcomes,
  judgedSide,
  Missing,
  outcomeSignalOf,
  TradingClock,
  type OutcomeSignal,
} from '../src/outcomes/index.js';

// Known answers on hand-built bars (docs/outcomes.md): Monday 2026-11-23, New York time.

const cal = builtinCalendar(Date.UTC(2026, 10, 20), 20);
const at = (wall: string) =>
  newYorkToUtc(wall.slice(0, 10), wall.slice(11, 16)) + Number(wall.slice(17, 19) || 0) * 1000;
const mon = (hm: string) => at(`2026-11-23T${hm}`);
const bar = (hm: string, o: number, h: number, l: number, c: number): Bar => ({
  t: mon(hm),
  o,
  h,
  l,
  c,
  v: 100,
});
const LATER = at('2026-12-31T12:00');

describe('computeOutcomes', () => {
  const sig: OutcomeSignal = { at: mon('10:00'), price: 10, side: 'long', stop: 9.5, target: 11 };
  const bars = [
    bar('10:00', 10.05, 10.2, 9.9, 10.1),
    bar('10:01', 10.1, 10.4, 10.0, 10.3),
    // 10:02: no trade, no bar
    bar('10:03', 10.3, 10.35, 10.1, 10.2),
    bar('10:04', 10.2, 10.25, 9.8, 9.9),
    // Crosses the stop AND the target, opens between them: stop first.
    bar('10:05', 9.9, 11.2, 9.4, 10.0),
  ];

  it('returns, excursions, R and time to MFE at 5m and 15m; later horizons not yet', () => {
    const [m5, m15, m30] = computeOutcomes(sig, bars, cal, mon('10:20'));
    expect(m5).toMatchObject({
      horizon: '5m',
      start: mon('10:00'),
      end: mon('10:05'),
      bars: 4,
      firstTradePrice: 10.05,
    });
    expect(m5!.ret).toBeCloseTo(-0.01, 12);
    expect(m5!.retFirstTrade).toBeCloseTo(9.9 / 10.05 - 1, 12);
    expect(m5!.mfe).toBeCloseTo(0.04, 12);
    expect(m5!.mae).toBeCloseTo(-0.02, 12);
    expect(m5!.mfeR).toBeCloseTo(0.8, 12);
    expect(m5!.maeR).toBeCloseTo(-0.4, 12);
    expect(m5!.minutesToMfe).toBe(2);
    expect(m5!.bracket).toMatchObject({ first: 'neither', exitPrice: 9.9 });

    expect(m15).toMatchObject({ horizon: '15m', end: mon('10:15'), bars: 5, minutesToMfe: 6 });
    expect(m15!.mfe).toBeCloseTo(0.12, 12);
    expect(m15!.mae).toBeCloseTo(-0.06, 12);
    expect(m15!.bracket).toMatchObject({ first: 'stop', exitPrice: 9.5, barT: mon('10:05') });
    expect(m15!.bracket!.r).toBeCloseTo(-1, 12);

    expect(m30).toEqual({
      horizon: '30m',
      minutes: 30,
      bars: 0,
      start: mon('10:00'),
      end: mon('10:30'),
      missing: Missing.notYet,
    });
    expect(m30).not.toHaveProperty('ret');
  });

  it('a bar that opens beyond a level fills that leg at the open (a gap), even when it also crosses the other', () => {
    const [m5] = computeOutcomes(sig, [bar('10:00', 11.3, 11.4, 9.0, 9.2)], cal, LATER);
    expect(m5!.bracket).toMatchObject({ first: 'target', exitPrice: 11.3 });
    expect(m5!.bracket!.ret).toBeCloseTo(0.13, 12);
    const [g] = computeOutcomes(sig, [bar('10:00', 9.0, 12, 8.9, 11.5)], cal, LATER);
    expect(g!.bracket).toMatchObject({ first: 'stop', exitPrice: 9.0 });
    expect(g!.bracket!.r).toBeCloseTo(-2, 12);
  });

  it('no trade in the window (a halt) is missing, never a zero; a signal between minutes starts at the next one', () => {
    const [m5, m15] = computeOutcomes(sig, [bar('10:07', 10, 10, 10, 10)], cal, LATER);
    expect(m5).toMatchObject({ missing: Missing.noBars, bars: 0 });
    expect(m5!.ret).toBeUndefined();
    expect(m5!.mfe).toBeUndefined();
    expect(m15).toMatchObject({ bars: 1, ret: 0, mfe: 0, mae: 0 });
    expect(m15!.minutesToMfe).toBeUndefined();
    const [late] = computeOutcomes({ ...sig, at: mon('10:00') + 30_000 }, bars, cal, LATER);
    expect(late).toMatchObject({ start: mon('10:01'), end: mon('10:06'), firstTradePrice: 10.1 });
  });

  it('the benchmark return over the same window gives an abnormal return, signed like ret; absent without trades', () => {
    const iwm = [
      bar('09:59', 50, 50, 50, 50),
      bar('10:00', 200, 201, 199, 201),
      bar('10:04', 202, 203, 201, 202),
    ];
    const [m5] = computeOutcomes(sig, bars, cal, LATER, undefined, iwm);
    // IWM 200 -> 202 (+1 %); the signal -1 %: 2 % worse than the market.
    expect(m5!.benchRet).toBeCloseTo(0.01, 12);
    expect(m5!.abnormalRet).toBeCloseTo(-0.02, 12);
    const [s5] = computeOutcomes({ ...sig, side: 'short' }, bars, cal, LATER, undefined, iwm);
    // Judged short: the stock did 2 % worse than the market, a 2 % win.
    expect(s5!.abnormalRet).toBeCloseTo(0.02, 12);
    const [none] = computeOutcomes(sig, bars, cal, LATER, undefined, [bar('10:30', 200, 200, 200, 200)]);
    expect(none!.benchRet).toBeUndefined();
    expect(none!.abnormalRet).toBeUndefined();
  });

  it('an avoid or an exit of a long is judged as a short: a fall is a win; no stop, no R', () => {
    expect(judgedSide('avoid', 'long')).toBe('short');
    expect(judgedSide('exit', null)).toBe('short');
    expect(judgedSide('enter', 'short')).toBe('short');
    expect(judgedSide('info', 'neutral')).toBe('long');
    const [m5] = computeOutcomes(
      { at: mon('10:00'), price: 10, side: 'short' },
      [bar('10:00', 10, 10.1, 9.4, 9.5)],
      cal,
      LATER,
    );
    expect(m5!.ret).toBeCloseTo(0.05, 12);
    expect(m5!.mfe).toBeCloseTo(0.06, 12);
    expect(m5!.mae).toBeCloseTo(-0.01, 12);
    expect(m5!.mfeR).toBeUndefined();
    expect(m5!.bracket).toBeUndefined();
  });

  it("outcomeSignalOf (the worker's and track-record verify's one reading): levels for an entry only", () => {
    const body = { classified_at: '2026-11-23T15:00:00Z', price: 10, stop_loss: 9, take_profit: 12 };
    expect(outcomeSignalOf(body, 'enter', 'long')).toEqual({
      at: Date.parse(body.classified_at),
      price: 10,
      side: 'long',
      stop: 9,
      target: 12,
    });
    expect(outcomeSignalOf(body, 'avoid', 'long')).toMatchObject({
      side: 'short',
      stop: undefined,
      target: undefined,
    });
  });
});

describe('trading time', () => {
  const clock = new TradingClock(cal);
  it('counts only session minutes: overnight, over a weekend, over Thanksgiving and an early close', () => {
    expect(clock.add(mon('19:58'), 5)).toBe(at('2026-11-24T04:03'));
    expect(clock.add(at('2026-11-24T02:00'), 5)).toBe(at('2026-11-24T04:05'));
    expect(clock.add(at('2026-11-20T19:59'), 5)).toBe(at('2026-11-23T04:04'));
    // Thursday 11-26 is a holiday, Friday 11-27 closes its after-hours at 17:00.
    expect(clock.add(at('2026-11-25T19:59'), 5)).toBe(at('2026-11-27T04:04'));
    expect(clock.add(at('2026-11-27T16:58'), 5)).toBe(at('2026-11-30T04:03'));
    // 1d is the same time the next trading day; 5d a week later over a weekend.
    expect(clock.add(mon('10:00'), 960)).toBe(at('2026-11-24T10:00'));
    expect(clock.add(at('2026-11-30T10:00'), 5 * 960)).toBe(at('2026-12-07T10:00'));
    expect(clock.between(mon('19:58'), at('2026-11-24T04:03'))).toBe(5);
  });
});
