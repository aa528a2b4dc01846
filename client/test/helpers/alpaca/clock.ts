/**
 * The emulator's market clock: a manual "now" set in America/New_York wall time, a trading calendar with holidays
 * and early closes, and the session an instant falls in. Nothing here reads the real clock, so a test decides
 * whether the market is open.
 */

const NY = 'America/New_York';
const offsetFmt = new Intl.DateTimeFormat('en-US', { timeZone: NY, timeZoneName: 'longOffset' });
const partsFmt = new Intl.DateTimeFormat('en-CA', {
  timeZone: NY,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** Offset of New York from UTC at an instant, in minutes (-300 in winter, -240 in summer). */
export function nyOffsetMinutes(ms: number): number {
  const name = offsetFmt.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')!.value;
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** "2026-11-23T09:45" (or with seconds) in New York wall time -> epoch ms. */
export function nyToMs(wall: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(wall);
  if (!m) throw new Error(`bad New York time "${wall}" (want YYYY-MM-DDTHH:MM)`);
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  const first = asUtc - nyOffsetMinutes(asUtc) * 60_000;
  return asUtc - nyOffsetMinutes(first) * 60_000;
}

/** Epoch ms -> { date: "2026-11-23", time: "09:45" } in New York. */
export function nyParts(ms: number): { date: string; time: string; weekday: number } {
  const p = Object.fromEntries(partsFmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const date = `${p['year']}-${p['month']}-${p['day']}`;
  return {
    date,
    time: `${p['hour']}:${p['minute']}`,
    weekday: new Date(`${date}T12:00:00Z`).getUTCDay(),
  };
}

/** Alpaca's timestamp shape: New York offset, nanoseconds ("2026-11-23T10:00:00.123456789-05:00"). */
export function nyIso(ms: number): string {
  const off = nyOffsetMinutes(ms);
  const local = new Date(ms + off * 60_000).toISOString().slice(0, 23);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${local}000000${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** NYSE 2026 full-day holidays (Independence Day observed on Friday July 3). */
export const HOLIDAYS_2026 = [
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
];
/** Early closes (13:00; the after-hours session then ends at 17:00). */
export const EARLY_CLOSES_2026 = ['2026-11-27', '2026-12-24'];

export interface TradingDay {
  date: string;
  open: string; // "09:30"
  close: string; // "16:00" or "13:00"
  sessionOpen: string; // "04:00"
  sessionClose: string; // "20:00" or "17:00"
}

export type Session = 'pre' | 'regular' | 'after' | 'closed';

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export class MarketCalendar {
  readonly holidays: Set<string>;
  readonly earlyCloses: Set<string>;

  constructor(holidays = HOLIDAYS_2026, earlyCloses = EARLY_CLOSES_2026) {
    this.holidays = new Set(holidays);
    this.earlyCloses = new Set(earlyCloses);
  }

  day(date: string): TradingDay | undefined {
    const wd = new Date(`${date}T12:00:00Z`).getUTCDay();
    if (wd === 0 || wd === 6 || this.holidays.has(date)) return undefined;
    const early = this.earlyCloses.has(date);
    return {
      date,
      open: '09:30',
      close: early ? '13:00' : '16:00',
      sessionOpen: '04:00',
      sessionClose: early ? '17:00' : '20:00',
    };
  }

  /** The first trading day on or after `date` (searching at most a month ahead). */
  nextDay(date: string, includeSelf = true): TradingDay {
    for (let i = includeSelf ? 0 : 1; i < 40; i++) {
      const d = this.day(addDays(date, i));
      if (d) return d;
    }
    throw new Error(`no trading day within 40 days of ${date}`);
  }

  range(start: string, end: string): TradingDay[] {
    const out: TradingDay[] = [];
    for (let d = start, n = 0; d <= end && n < 400; d = addDays(d, 1), n++) {
      const t = this.day(d);
      if (t) out.push(t);
    }
    return out;
  }

  session(ms: number): Session {
    const { date, time } = nyParts(ms);
    const d = this.day(date);
    if (!d) return 'closed';
    if (time >= d.sessionOpen && time < d.open) return 'pre';
    if (time >= d.open && time < d.close) return 'regular';
    if (time >= d.close && time < d.sessionClose) return 'after';
    return 'closed';
  }

  /** The trading day an order placed at `ms` belongs to: today until its close, else the next one. */
  orderDay(ms: number, extended: boolean): TradingDay {
    const { date, time } = nyParts(ms);
    const today = this.day(date);
    if (today && time < (extended ? today.sessionClose : today.close)) return today;
    return this.nextDay(date, false);
  }

  /** GET /v2/clock. */
  clock(ms: number): { timestamp: string; is_open: boolean; next_open: string; next_close: string } {
    const { date, time } = nyParts(ms);
    const today = this.day(date);
    const isOpen = this.session(ms) === 'regular';
    const openDay = today && time < today.open ? today : this.nextDay(date, false);
    const closeDay = today && time < today.close ? today : this.nextDay(date, false);
    return {
      timestamp: nyIso(ms),
      is_open: isOpen,
      next_open: nyIso(nyToMs(`${openDay.date}T${openDay.open}`)).replace(/\.\d+/, ''),
      next_close: nyIso(nyToMs(`${closeDay.date}T${closeDay.close}`)).replace(/\.\d+/, ''),
    };
  }

  /** GET /v2/calendar row. */
  calendarRow(d: TradingDay) {
    return {
      date: d.date,
      open: d.open,
      close: d.close,
      session_open: d.sessionOpen.replace(':', ''),
      session_close: d.sessionClose.replace(':', ''),
      settlement_date: this.nextDay(d.date, false).date,
    };
  }
}
