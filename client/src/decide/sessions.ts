import {
  newYorkDayStart,
  newYorkOffsetMinutes,
  newYorkToUtc,
  type CalendarDay,
} from '@catalyst-signal/shared/calendar';
import type { ReasonCode } from './reasons.js';
import { formatDuration, nyTimeText } from './time-text.js';

/**
 * US equity trading sessions, pure: the time and the BROKER's calendar (Alpaca GET /v2/calendar) and clock
 * (GET /v2/clock) are arguments; the machine's local timezone is never read. Calendar times are New York wall
 * clock; they become instants through the US daylight-saving rule (second Sunday of March to first Sunday of
 * November, 02:00 local, in force since 2007), so the result is the same on any machine.
 *
 * Sessions: pre-market session_open (04:00) - open (09:30), regular open - close (16:00, 13:00 on early-close
 * days), after-hours close - session_close (20:00). A date missing from the calendar is a holiday or weekend.
 */

// The New York clock moved to shared (the server's outcome worker counts trading time too); re-exported so the
// decide/ imports stay where they were.
export { newYorkDayStart, newYorkOffsetMinutes, newYorkToUtc, type CalendarDay };

/** Alpaca /v2/clock: `is_open` is the regular session only. */
export interface BrokerClock {
  is_open: boolean;
}

export type SessionKind = 'pre' | 'regular' | 'after' | 'closed';

export interface Session {
  kind: SessionKind;
  /** The trading day `now` falls in (not for closed). */
  date?: string | undefined;
  /** Instants (ms) of the current day's regular open/close, when `now` is within a trading day. */
  regularOpen?: number | undefined;
  regularClose?: number | undefined;
  /** The next regular open strictly after `now` (the current day's open during pre-market), if the calendar has it. */
  nextRegularOpen?: number | undefined;
}

interface DayBounds {
  date: string;
  pre: number;
  open: number;
  close: number;
  after: number;
}

function bounds(d: CalendarDay): DayBounds {
  return {
    date: d.date,
    pre: newYorkToUtc(d.date, d.sessionOpen),
    open: newYorkToUtc(d.date, d.open),
    close: newYorkToUtc(d.date, d.close),
    after: newYorkToUtc(d.date, d.sessionClose),
  };
}

/**
 * The session at `now`. When a broker clock is given it has the last word on the regular session (an
 * unscheduled closure, or a calendar that is out of date): is_open false turns "regular" into "closed".
 */
export function sessionAt(now: number, calendar: readonly CalendarDay[], clock?: BrokerClock): Session {
  const days = calendar.map(bounds).sort((a, b) => a.pre - b.pre);
  const nextRegularOpen = days.find((d) => d.open > now)?.open;
  const today = days.find((d) => d.pre <= now && now < d.after);
  if (!today) return { kind: 'closed', nextRegularOpen };
  const base = { date: today.date, regularOpen: today.open, regularClose: today.close, nextRegularOpen };
  let kind: SessionKind = now < today.open ? 'pre' : now < today.close ? 'regular' : 'after';
  if (clock && kind === 'regular' && !clock.is_open) kind = 'closed';
  if (clock && kind !== 'regular' && clock.is_open) kind = 'regular';
  return { kind, ...base };
}

export type SessionPolicy = 'regular_only' | 'extended' | 'hold_until_open';

export type SessionGate =
  | { ok: true; session: 'regular' | 'extended' }
  | { ok: false; reason: ReasonCode; detail: string; retryAt?: number | undefined };

/**
 * May an order go out now, and in which session's style? `signalAt` and `maxAgeMs` bound how long
 * hold_until_open may wait: a held signal must still be young enough at the open.
 */
export function sessionGate(
  policy: SessionPolicy,
  s: Session,
  ctx: { now: number; signalAt: number; maxAgeMs: number },
): SessionGate {
  if (s.kind === 'regular') return { ok: true, session: 'regular' };
  if (policy === 'extended' && (s.kind === 'pre' || s.kind === 'after'))
    return { ok: true, session: 'extended' };
  if (policy === 'hold_until_open') {
    const open = s.nextRegularOpen;
    if (open === undefined)
      return { ok: false, reason: 'skipped:open_too_late', detail: 'no next open in the broker calendar' };
    if (open - ctx.signalAt > ctx.maxAgeMs) {
      return {
        ok: false,
        reason: 'skipped:open_too_late',
        detail: `next open ${nyTimeText(open)} is ${formatDuration(open - ctx.signalAt)} after the signal (max age ${formatDuration(ctx.maxAgeMs)})`,
      };
    }
    return {
      ok: false,
      reason: 'deferred:until_open',
      detail: `held until the open ${nyTimeText(open)}`,
      retryAt: open,
    };
  }
  if (s.kind === 'closed')
    return {
      ok: false,
      reason: 'skipped:market_closed',
      detail: s.nextRegularOpen ? `next open ${nyTimeText(s.nextRegularOpen)}` : 'market closed',
    };
  return {
    ok: false,
    reason: 'skipped:outside_regular_hours',
    detail: `${s.kind === 'pre' ? 'pre-market' : 'after-hours'} with session_policy regular_only`,
  };
}

/**
 * May an exit's sell go out now? An exit is never dropped for the session: the regular session sells, pre-market
 * and after-hours sell with session_policy extended (a limit with extended_hours), and otherwise the exit waits
 * for the next session that can sell, with no hold age: it is decided again then (at-open.ts), exactly once.
 */
export function exitGate(policy: SessionPolicy, s: Session): SessionGate {
  if (s.kind === 'regular') return { ok: true, session: 'regular' };
  if (policy === 'extended' && (s.kind === 'pre' || s.kind === 'after'))
    return { ok: true, session: 'extended' };
  const open =
    s.nextRegularOpen !== undefined ? `the open ${nyTimeText(s.nextRegularOpen)}` : 'the next open';
  return {
    ok: false,
    reason: 'deferred:exit_until_session',
    detail:
      policy === 'extended'
        ? `no session now: held until the next pre-market or ${open}`
        : `held until ${open} (session_policy ${policy})`,
    retryAt: s.nextRegularOpen,
  };
}

/** Can a held exit's sell be placed in this session (the cheap check before the broker reads)? */
export function exitCanSell(policy: SessionPolicy, s: Session): boolean {
  return exitGate(policy, s).ok;
}
