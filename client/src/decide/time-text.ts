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

/**
 * A duration as a person reads it: `850 ms`, `4.2 s`, `42 s`, `9m 11s`, `2h 5m`, `3d 4h`. Pure. Two units at
 * most, the larger first, a zero second unit left out (`10m`, not `10m 0s`): a stale age of 551307 ms reads
 * `9m 11s`. Logs keep raw ms (machines read those); this is for lines a person reads.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const two = (big: number, bigUnit: string, small: number, smallUnit: string) =>
    small ? `${big}${bigUnit} ${small}${smallUnit}` : `${big}${bigUnit}`;
  if (s < 3600) return two(Math.floor(s / 60), 'm', s % 60, 's');
  if (s < 86_400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'm');
  return two(Math.floor(s / 86_400), 'd', Math.floor((s % 86_400) / 3600), 'h');
}
