import { newYorkToUtc, type CalendarDay } from './sessions.js';

/**
 * A simulated market clock for offline paper trading (config paper.market_clock): the session a signal meets is
 * computed at market time, so a demo or rehearsal shows pre-market, regular and after-hours behaviour whatever
 * the real hour. Only the session uses it; signal age, cooldowns and daily limits stay on real time.
 */
export interface MarketClock {
  /** ISO 8601 with an offset: the market time at `origin`. */
  start: string;
  /** Market ms per real ms. */
  speed: number;
}

/** Market time (ms) at real time `now`, for a clock that started at real time `origin`. */
export function marketTime(clock: MarketClock, origin: number, now: number): number {
  return Date.parse(clock.start) + (now - origin) * clock.speed;
}

/** The real time (ms) at which the market clock reaches `market`. */
export function realTimeAt(clock: MarketClock, origin: number, market: number): number {
  return origin + (market - Date.parse(clock.start)) / clock.speed;
}

/** The first session boundary (pre-market start, open, close, after-hours end) strictly after `now`. */
export function nextSessionChange(now: number, calendar: readonly CalendarDay[]): number | undefined {
  let next: number | undefined;
  for (const d of calendar) {
    for (const hm of [d.sessionOpen, d.open, d.close, d.sessionClose]) {
      const t = newYorkToUtc(d.date, hm);
      if (t > now && (next === undefined || t < next)) next = t;
    }
  }
  return next;
}
