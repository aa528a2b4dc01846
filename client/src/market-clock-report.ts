import {
  builtinCalendar,
  nextSessionChange,
  realTimeAt,
  sessionAt,
  type MarketClock,
  type SessionKind,
} from './decide/index.js';

/**
 * `run` on a paper config with a simulated market clock (paper.market_clock): one readable line now and one at
 * each session change, so a person watching a demo sees why a signal became an extended-hours limit order or a
 * bracket. A timer per boundary (no polling); stop() clears it.
 */

const NAMES: Record<SessionKind, string> = {
  pre: 'pre-market',
  regular: 'regular session',
  after: 'after-hours',
  closed: 'market closed',
};

/** "Mon 2026-11-23 09:29:00 ET" from the tz database, whatever the machine's timezone. */
export function newYorkLabel(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts['weekday']} ${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour']}:${parts['minute']}:${parts['second']} ET`;
}

export function reportMarketClock(
  clock: MarketClock,
  origin: number,
  now: () => number,
  say: (line: string) => void,
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const tell = (market: number, first: boolean) => {
    const cal = builtinCalendar(market - 86_400_000, 9);
    const s = sessionAt(market, cal);
    const speed = first && clock.speed !== 1 ? ` (simulated, ${clock.speed}x real time)` : '';
    say(`market clock ${newYorkLabel(market)}: ${NAMES[s.kind]}${speed}`);
    const next = nextSessionChange(market, cal);
    if (next === undefined) return;
    const wait = Math.max(0, realTimeAt(clock, origin, next) - now());
    // setTimeout holds at most ~24.8 days; a clock that slow gets its next line on the next check.
    timer = setTimeout(() => tell(next, false), Math.min(wait, 2 ** 31 - 1));
    timer.unref();
  };
  const t = now();
  tell(Date.parse(clock.start) + (t - origin) * clock.speed, true);
  return { stop: () => clearTimeout(timer) };
}
