import { describe, expect, it } from 'vitest';
import { newYorkToUtc, sessionAt, sessionGate, type CalendarDay } from '../src/decide/sessions.js';

// Sessions come from the broker's calendar (Alpaca /v2/calendar) and New York wall-clock rules, never from the
// machine's timezone. Thanksgiving week 2026: Thu 26 closed, Fri 27 closes at 13:00 (after-hours to 17:00).

const day = (date: string, close = '16:00', sessionClose = '20:00'): CalendarDay => ({
  date,
  open: '09:30',
  close,
  sessionOpen: '04:00',
  sessionClose,
});
const CAL: CalendarDay[] = [
  day('2026-11-23'),
  day('2026-11-24'),
  day('2026-11-25'),
  day('2026-11-27', '13:00', '17:00'),
  day('2026-11-30'),
];
const at = (iso: string) => Date.parse(iso);

describe('equity sessions', () => {
  it('New York wall clock to UTC follows daylight saving by date, not the local timezone', () => {
    expect(new Date(newYorkToUtc('2026-11-23', '09:30')).toISOString()).toBe('2026-11-23T14:30:00.000Z');
    expect(new Date(newYorkToUtc('2026-07-01', '09:30')).toISOString()).toBe('2026-07-01T13:30:00.000Z');
    // DST starts Sun 2026-03-08 02:00, ends Sun 2026-11-01 02:00.
    expect(new Date(newYorkToUtc('2026-03-09', '0400')).toISOString()).toBe('2026-03-09T08:00:00.000Z');
    expect(new Date(newYorkToUtc('2026-03-06', '0400')).toISOString()).toBe('2026-03-06T09:00:00.000Z');
    expect(new Date(newYorkToUtc('2026-11-02', '16:00')).toISOString()).toBe('2026-11-02T21:00:00.000Z');
    expect(new Date(newYorkToUtc('2026-10-30', '16:00')).toISOString()).toBe('2026-10-30T20:00:00.000Z');
  });

  it('pre-market, regular, after-hours and closed on an ordinary day', () => {
    expect(sessionAt(at('2026-11-23T08:59:59Z'), CAL).kind).toBe('closed'); // 03:59:59 ET
    expect(sessionAt(at('2026-11-23T09:00:00Z'), CAL).kind).toBe('pre'); // 04:00 ET
    expect(sessionAt(at('2026-11-23T14:29:59Z'), CAL).kind).toBe('pre');
    expect(sessionAt(at('2026-11-23T14:30:00Z'), CAL).kind).toBe('regular');
    expect(sessionAt(at('2026-11-23T20:59:59Z'), CAL).kind).toBe('regular');
    expect(sessionAt(at('2026-11-23T21:00:00Z'), CAL).kind).toBe('after');
    expect(sessionAt(at('2026-11-24T00:59:59Z'), CAL).kind).toBe('after'); // 19:59:59 ET
    expect(sessionAt(at('2026-11-24T01:00:00Z'), CAL).kind).toBe('closed'); // 20:00 ET
  });

  it('a holiday is closed all day; an early close ends regular hours at 13:00 and after-hours at 17:00', () => {
    const thanksgiving = sessionAt(at('2026-11-26T16:00:00Z'), CAL);
    expect(thanksgiving.kind).toBe('closed');
    expect(new Date(thanksgiving.nextRegularOpen!).toISOString()).toBe('2026-11-27T14:30:00.000Z');
    expect(sessionAt(at('2026-11-27T17:59:59Z'), CAL).kind).toBe('regular'); // 12:59:59 ET
    expect(sessionAt(at('2026-11-27T18:00:00Z'), CAL).kind).toBe('after');
    expect(sessionAt(at('2026-11-27T22:00:00Z'), CAL).kind).toBe('closed'); // 17:00 ET
    // Weekend
    expect(sessionAt(at('2026-11-28T15:00:00Z'), CAL).kind).toBe('closed');
  });

  it('the broker clock has the last word on the regular session', () => {
    expect(sessionAt(at('2026-11-23T15:00:00Z'), CAL, { is_open: false }).kind).toBe('closed');
    expect(sessionAt(at('2026-11-23T15:00:00Z'), CAL, { is_open: true }).kind).toBe('regular');
  });

  it('session policy: every skip names its rule; hold_until_open waits only within the max age', () => {
    const pre = sessionAt(at('2026-11-23T13:30:00Z'), CAL); // 08:30 ET, open in 60 min
    const ctx = (signalAt: string, maxAgeMs: number) => ({
      now: at('2026-11-23T13:30:00Z'),
      signalAt: at(signalAt),
      maxAgeMs,
    });
    expect(sessionGate('regular_only', pre, ctx('2026-11-23T13:30:00Z', 60_000))).toMatchObject({
      ok: false,
      reason: 'skipped:outside_regular_hours',
    });
    expect(sessionGate('extended', pre, ctx('2026-11-23T13:30:00Z', 60_000))).toEqual({
      ok: true,
      session: 'extended',
    });
    expect(sessionGate('hold_until_open', pre, ctx('2026-11-23T13:30:00Z', 2 * 3_600_000))).toMatchObject({
      ok: false,
      reason: 'deferred:until_open',
      retryAt: at('2026-11-23T14:30:00Z'),
    });
    expect(sessionGate('hold_until_open', pre, ctx('2026-11-23T13:30:00Z', 30 * 60_000))).toMatchObject({
      ok: false,
      reason: 'skipped:open_too_late',
    });
    const night = sessionAt(at('2026-11-24T03:00:00Z'), CAL);
    expect(sessionGate('extended', night, ctx('2026-11-24T03:00:00Z', 60_000))).toMatchObject({
      ok: false,
      reason: 'skipped:market_closed',
    });
  });
});
