/**
 * New York wall clock <-> instants, pure: calendar times become instants through the US daylight-saving rule
 * (second Sunday of March to first Sunday of November, 02:00 local, in force since 2007), so the result is the
 * same on any machine and the machine's timezone is never read. Shared by the client's session rules and the
 * outcome arithmetic (trading-time horizons), which the server runs too.
 */

/** One trading day as Alpaca's /v2/calendar gives it. */
export interface CalendarDay {
  /** YYYY-MM-DD (New York). */
  date: string;
  /** Regular open / close, "HH:MM" New York time (close 13:00 on early-close days). */
  open: string;
  close: string;
  /** Extended session bounds, "HH:MM" New York time: pre-market start, after-hours end. */
  sessionOpen: string;
  sessionClose: string;
}

const MIN = 60_000;

function nthSunday(year: number, month0: number, n: number): number {
  const firstDow = new Date(Date.UTC(year, month0, 1)).getUTCDay();
  return 1 + ((7 - firstDow) % 7) + (n - 1) * 7;
}

/** New York's UTC offset in minutes (-240 daylight, -300 standard) at a New York wall-clock time. */
export function newYorkOffsetMinutes(year: number, month: number, day: number, minuteOfDay: number): number {
  const start = nthSunday(year, 2, 2);
  const end = nthSunday(year, 10, 1);
  const dst =
    (month > 3 && month < 11) ||
    (month === 3 && (day > start || (day === start && minuteOfDay >= 120))) ||
    (month === 11 && (day < end || (day === end && minuteOfDay < 120)));
  return dst ? -240 : -300;
}

function parseHm(t: string): number {
  const m = /^(\d{2}):?(\d{2})$/.exec(t);
  if (!m) throw new Error(`bad calendar time ${t}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Instant (ms) of a New York wall-clock time on a calendar date. */
export function newYorkToUtc(date: string, hm: string): number {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const mins = parseHm(hm);
  const offset = newYorkOffsetMinutes(y, mo, d, mins);
  return Date.UTC(y, mo - 1, d) + (mins - offset) * MIN;
}

/** Instant (ms) of midnight New York time on the New York date containing `now`. */
export function newYorkDayStart(now: number): number {
  // New York is 4 or 5 hours behind UTC: its date is the UTC date of now - 4 h or of now - 5 h.
  for (const h of [4, 5]) {
    const date = new Date(now - h * 3_600_000).toISOString().slice(0, 10);
    const start = newYorkToUtc(date, '00:00');
    if (start <= now && now - start < 86_400_000) return start;
  }
  return newYorkToUtc(new Date(now - 5 * 3_600_000).toISOString().slice(0, 10), '00:00');
}
