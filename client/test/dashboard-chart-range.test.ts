import { describe, expect, it } from 'vitest';
import { TIME_INCRS, timeLabels, timeRange } from '../web/src/format.js';

// A fresh client's equity curve is one point (no fill yet). uPlot stretches a single time point by 86400 / 1e-3
// seconds, so the dashboard, the first page a friend opens, showed an axis from Mar 2027 to Sep 2029. One point
// gets an hour either side; a real span keeps uPlot's range.

describe('equity chart time axis', () => {
  const now = Date.parse('2026-12-07T15:02:14Z') / 1000;
  it("one point: an hour either side, whatever uPlot's own range says", () => {
    expect(timeRange([now], now, now + 86_400_000)).toEqual([now - 3600, now + 3600]);
  });
  it('a span, or no data: unchanged', () => {
    expect(timeRange([now - 5, now], now - 5, now)).toEqual([now - 5, now]);
    expect(timeRange([], null, null)).toEqual([null, null]);
  });
});

describe('equity chart time labels', () => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  it('intraday: hours and minutes, never seconds; the day where midnight passes', () => {
    const ticks = [
      at('2026-12-06T22:00:00Z'),
      at('2026-12-06T23:00:00Z'),
      at('2026-12-07T00:00:00Z'),
      at('2026-12-07T01:00:00Z'),
    ];
    expect(timeLabels(ticks, 3600, 'UTC')).toEqual(['22:00', '23:00', 'Dec 7', '01:00']);
  });
  it('daily and monthly steps: one date each, no time, no repeats', () => {
    const days = [0, 1, 2].map((d) => at('2026-12-06T00:00:00Z') + d * 86_400);
    expect(timeLabels(days, 86_400, 'UTC')).toEqual(['Dec 6', 'Dec 7', 'Dec 8']);
    expect(timeLabels([at('2026-11-01T00:00:00Z'), at('2026-12-01T00:00:00Z')], 30 * 86_400, 'UTC')).toEqual([
      'Nov 2026',
      'Dec 2026',
    ]);
  });
  it('the axis never steps by seconds', () => {
    expect(Math.min(...TIME_INCRS)).toBe(60);
  });
});
