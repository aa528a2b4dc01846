import { describe, expect, it } from 'vitest';
import { formatDuration, nyTimeText } from '../src/decide/time-text.js';
import { sessionAt, sessionGate } from '../src/decide/index.js';

// Issue 19 item 12: times in decision details read as New York wall time to the minute, never a UTC instant
// with milliseconds beside a simulated New York clock; durations in units a person reads.

describe('times a person reads', () => {
  it('New York wall time with the weekday, across both daylight-saving changes', () => {
    expect(nyTimeText(Date.parse('2026-12-07T07:01:39.369Z'))).toBe('Mon 2026-12-07 02:01 ET');
    expect(nyTimeText(Date.parse('2026-11-24T20:43:10.123Z'))).toBe('Tue 2026-11-24 15:43 ET');
    expect(nyTimeText(Date.parse('2026-07-03T13:30:00Z'))).toBe('Fri 2026-07-03 09:30 ET');
    expect(nyTimeText(Date.parse('2026-03-08T06:59:00Z'))).toBe('Sun 2026-03-08 01:59 ET');
    expect(nyTimeText(Date.parse('2026-03-08T07:00:00Z'))).toBe('Sun 2026-03-08 03:00 ET');
    expect(nyTimeText(Date.parse('2026-11-01T05:30:00Z'))).toBe('Sun 2026-11-01 01:30 ET');
    expect(nyTimeText(Date.parse('2026-11-01T06:30:00Z'))).toBe('Sun 2026-11-01 01:30 ET');
  });

  it('durations', () => {
    expect([0, 610, 42_000, 15 * 60_000, 125 * 60_000, 7 * 86_400_000].map(formatDuration)).toEqual([
      '0 ms',
      '610 ms',
      '42 s',
      '15m',
      '2h 5m',
      '7d',
    ]);
  });

  it('session details use them', () => {
    const cal = [
      { date: '2026-11-24', open: '09:30', close: '16:00', sessionOpen: '04:00', sessionClose: '20:00' },
    ];
    const now = Date.parse('2026-11-24T03:00:00Z'); // Monday 22:00 New York
    const s = sessionAt(now, cal);
    expect(sessionGate('regular_only', s, { now, signalAt: now, maxAgeMs: 0 })).toMatchObject({
      reason: 'skipped:market_closed',
      detail: 'next open Tue 2026-11-24 09:30 ET',
    });
    expect(sessionGate('hold_until_open', s, { now, signalAt: now, maxAgeMs: 18 * 3_600_000 })).toMatchObject(
      {
        reason: 'deferred:until_open',
        detail: 'held until the open Tue 2026-11-24 09:30 ET',
      },
    );
    expect(sessionGate('hold_until_open', s, { now, signalAt: now, maxAgeMs: 3_600_000 })).toMatchObject({
      reason: 'skipped:open_too_late',
      detail: 'next open Tue 2026-11-24 09:30 ET is 11h 30m after the signal (max age 1h)',
    });
  });
});
