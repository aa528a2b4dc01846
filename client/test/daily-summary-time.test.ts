import { describe, expect, it } from 'vitest';
import { summaryDueAt } from '../src/notify/daily-summary.js';

// The daily summary is due at 16:05 on New York's wall clock, also on the two DST Sundays (23- and 25-hour days).
describe('summaryDueAt', () => {
  it('16:05 New York on an ordinary day, in winter and in summer', () => {
    expect(summaryDueAt(Date.parse('2026-12-07T15:00:00Z'))).toBe(Date.parse('2026-12-07T21:05:00Z'));
    expect(summaryDueAt(Date.parse('2026-07-07T15:00:00Z'))).toBe(Date.parse('2026-07-07T20:05:00Z'));
  });

  it('16:05 New York on the day clocks go forward (23 hours) and back (25 hours)', () => {
    // 2026-03-08: midnight is EST (05:00 UTC), 16:05 is EDT (20:05 UTC).
    expect(summaryDueAt(Date.parse('2026-03-08T06:00:00Z'))).toBe(Date.parse('2026-03-08T20:05:00Z'));
    // 2026-11-01: midnight is EDT (04:00 UTC), 16:05 is EST (21:05 UTC); 23:30 EST is already 04:30 UTC the next day.
    expect(summaryDueAt(Date.parse('2026-11-01T05:00:00Z'))).toBe(Date.parse('2026-11-01T21:05:00Z'));
    expect(summaryDueAt(Date.parse('2026-11-02T04:30:00Z'))).toBe(Date.parse('2026-11-01T21:05:00Z'));
  });
});
