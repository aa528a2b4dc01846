import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limitDay } from '../src/decide/index.js';

// Issue 19 item 5: daily limits counted the UTC day, which turns at 19:00 or 20:00 New York, inside the
// after-hours session. On us_equity the limit day is the New York calendar day; the reference here is the
// platform's own time-zone database (Intl, America/New_York), independent of the rule in decide/sessions.ts.
const nyDate = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

const instants = fc.integer({
  min: Date.parse('2020-01-01T00:00:00Z'),
  max: Date.parse('2035-12-31T00:00:00Z'),
});

describe('the day daily limits count', () => {
  it('us_equity: the New York date, and its start is New York midnight at or before the instant', () => {
    fc.assert(
      fc.property(instants, (t) => {
        const { day, start } = limitDay('us_equity', t);
        expect(day).toBe(nyDate.format(new Date(t)));
        expect(start).toBeLessThanOrEqual(t);
        // A New York day is 23, 24 or 25 hours long.
        expect(t - start).toBeLessThan(25 * 3_600_000);
        expect(nyDate.format(new Date(start))).toBe(day);
        expect(nyDate.format(new Date(start - 1))).not.toBe(day);
      }),
      { numRuns: 2_000 },
    );
  });

  it('us_equity: an order at 10:00 New York and one at 19:30 the same evening count on the same day', () => {
    // 19:30 EST is 00:30 UTC the next day: the UTC rule split them.
    expect(limitDay('us_equity', Date.parse('2026-12-07T15:00:00Z')).day).toBe('2026-12-07');
    expect(limitDay('us_equity', Date.parse('2026-12-08T00:30:00Z')).day).toBe('2026-12-07');
  });

  it('crypto_spot: the UTC date, from 00:00 UTC', () => {
    fc.assert(
      fc.property(instants, (t) => {
        const { day, start } = limitDay('crypto_spot', t);
        expect(day).toBe(new Date(t).toISOString().slice(0, 10));
        expect(start).toBe(Date.parse(`${day}T00:00:00Z`));
      }),
    );
  });
});
