/**
 * Instants in decision details, as a person reads them: New York wall time to the minute with the weekday,
 * "Tue 2026-11-24 15:43 ET". US equities run on New York time and the demo runs a simulated New York clock, so
 * a UTC instant with milliseconds beside it reads as a different, oddly precise, time. Pure: the offset comes
 * from the US daylight-saving rule (as in sessions.ts), never from the machine's timezone.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

function nthSundayUtc(year: number, month0: number, n: number, hourUtc: number): number {
  const firstDow = new Date(Date.UTC(year, month0, 1)).getUTCDay();
  return Date.UTC(year, month0, 1 + ((7 - firstDow) % 7) + (n - 1) * 7, hourUtc);
}

/** Daylight time from 02:00 EST on the second Sunday of March to 02:00 EDT on the first Sunday of November. */
function newYorkOffsetHoursAt(ms: number): number {
  const y = new Date(ms).getUTCFullYear();
  const dst = ms >= nthSundayUtc(y, 2, 2, 7) && ms < nthSundayUtc(y, 10, 1, 6);
  return dst ? 4 : 5;
}

export function nyTimeText(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  const wall = new Date(ms - newYorkOffsetHoursAt(ms) * 3_600_000);
  const iso = wall.toISOString();
  return `${WEEKDAYS[wall.getUTCDay()]} ${iso.slice(0, 10)} ${iso.slice(11, 16)} ET`;
}

// One duration formatter for every line a person reads, the stream's own messages included (shared/src/duration.ts).
export { formatDuration } from '@catalyst-signal/shared';
