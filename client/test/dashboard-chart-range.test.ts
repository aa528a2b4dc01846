import { describe, expect, it } from 'vitest';
import { timeRange } from '../web/src/format.js';

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
