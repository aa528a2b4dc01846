import type { CalendarDay } from './new-york.js';

/**
 * A built-in NYSE/Nasdaq calendar for OFFLINE paper mode only, where no broker calendar can be fetched: weekdays
 * minus the exchange holidays, with the 13:00 early closes, for the years listed. Live trading uses the
 * broker's /v2/calendar, which is authoritative. Outside the listed years: weekdays only (documented).
 */

const HOLIDAYS: Record<string, true> = Object.fromEntries(
  [
    // 2026
    '2026-01-01',
    '2026-01-19',
    '2026-02-16',
    '2026-04-03',
    '2026-05-25',
    '2026-06-19',
    '2026-07-03',
    '2026-09-07',
    '2026-11-26',
    '2026-12-25',
    // 2027
    '2027-01-01',
    '2027-01-18',
    '2027-02-15',
    '2027-03-26',
    '2027-05-31',
    '2027-06-18',
    '2027-07-05',
    '2027-09-06',
    '2027-11-25',
    '2027-12-24',
  ].map((d) => [d, true]),
);
const EARLY_CLOSES: Record<string, true> = Object.fromEntries(
  ['2026-11-27', '2026-12-24', '2027-11-26'].map((d) => [d, true]),
);
export const BUILTIN_CALENDAR_YEARS = [2026, 2027] as const;

/** Trading days from the New York date of `fromMs - 1 day` for `days` calendar days. */
export function builtinCalendar(fromMs: number, days: number): CalendarDay[] {
  const out: CalendarDay[] = [];
  // Start a day early: at 02:00 UTC it is still the previous evening in New York.
  const start = Date.UTC(
    new Date(fromMs).getUTCFullYear(),
    new Date(fromMs).getUTCMonth(),
    new Date(fromMs).getUTCDate() - 1,
  );
  for (let k = 0; k < days + 1; k++) {
    const d = new Date(start + k * 86_400_000);
    const dow = d.getUTCDay();
    const date = d.toISOString().slice(0, 10);
    if (dow === 0 || dow === 6 || HOLIDAYS[date]) continue;
    const early = EARLY_CLOSES[date] === true;
    out.push({
      date,
      open: '09:30',
      close: early ? '13:00' : '16:00',
      sessionOpen: '04:00',
      sessionClose: early ? '17:00' : '20:00',
    });
  }
  return out;
}
