import { newYorkToUtc, type CalendarDay } from '../calendar/new-york.js';

/**
 * Trading time: minutes count only while a session is open (pre-market, regular and after-hours are one
 * contiguous span per trading day, 04:00-20:00 New York, 17:00 on early closes); nights, weekends and holidays
 * do not count. Pure: the calendar is an argument.
 */

const MIN = 60_000;

export interface SessionSpan {
  date: string;
  /** [start, end): the day's extended session, whole minutes. */
  start: number;
  end: number;
}

export class TradingClock {
  readonly spans: readonly SessionSpan[];

  constructor(calendar: readonly CalendarDay[]) {
    this.spans = calendar
      .map((d) => ({
        date: d.date,
        start: newYorkToUtc(d.date, d.sessionOpen),
        end: newYorkToUtc(d.date, d.sessionClose),
      }))
      .sort((a, b) => a.start - b.start);
  }

  /** The first whole-minute instant at or after `t` inside a session; undefined past the calendar's end. */
  align(t: number): number | undefined {
    const m = Math.ceil(t / MIN) * MIN;
    for (const s of this.spans) {
      if (m < s.start) return s.start;
      if (m < s.end) return m;
    }
    return undefined;
  }

  /** The instant `minutes` trading minutes after `t` (aligned first); undefined if the calendar runs out. */
  add(t: number, minutes: number): number | undefined {
    let at = this.align(t);
    if (at === undefined) return undefined;
    let left = minutes * MIN;
    for (const s of this.spans) {
      if (s.end <= at) continue;
      at = Math.max(at, s.start);
      if (at + left <= s.end) return at + left;
      left -= s.end - at;
      at = s.end;
    }
    return undefined;
  }

  /** Trading minutes in [a, b). */
  between(a: number, b: number): number {
    let ms = 0;
    for (const s of this.spans) ms += Math.max(0, Math.min(b, s.end) - Math.max(a, s.start));
    return ms / MIN;
  }
}
