import { newYorkDayStart, newYorkToUtc } from '../decide/index.js';
import { fmt } from '../report.js';
import { priorityOf, type NotifyMessage } from './events.js';

/**
 * The daily summary after the New York close (pure): today's realised P&L, what traded, what is still open, and
 * what was skipped, in counts by reason.
 */

/** Sent at 16:05 New York time, five minutes after the close. */
export const SUMMARY_AT_NY = '16:05';

/**
 * When the summary of the New York day that `now` falls in is due: 16:05 that day on New York's wall clock, also
 * on the two DST Sundays, whose days last 23 and 25 hours.
 */
export function summaryDueAt(now: number): number {
  // Midnight New York is 04:00 or 05:00 UTC: twelve hours later it is still the same UTC date.
  const date = new Date(newYorkDayStart(now) + 12 * 3_600_000).toISOString().slice(0, 10);
  return newYorkToUtc(date, SUMMARY_AT_NY);
}

export interface DaySummary {
  day: string;
  mode: string;
  quote: string;
  realized: number;
  orders: number;
  fills: { market: string; side: string; amount: number; price: number | null }[];
  positions: { market: string; amount: number; cost: number }[];
  decided: number;
  notTraded: { verdict: string; reason: string; n: number }[];
}

export function dailySummaryMessage(at: number, s: DaySummary): NotifyMessage {
  const fills = s.fills.length
    ? s.fills
        .slice(0, 20)
        .map((f) => `${f.side} ${fmt(f.amount)} ${f.market}${f.price !== null ? ` @ ${fmt(f.price)}` : ''}`)
        .join('\n') + (s.fills.length > 20 ? `\n… and ${s.fills.length - 20} more` : '')
    : 'none';
  const positions = s.positions.length
    ? s.positions.map((p) => `${p.market} ${fmt(p.amount)} (cost ${p.cost.toFixed(2)})`).join('\n')
    : 'none';
  const skipped = s.notTraded.length
    ? s.notTraded
        .slice(0, 15)
        .map((r) => `${r.n} × ${r.reason}`)
        .join('\n')
    : 'none';
  return {
    kind: 'daily_summary',
    priority: priorityOf('daily_summary'),
    title: `[${s.mode}] ${s.day}: P&L ${s.realized >= 0 ? '+' : ''}${s.realized.toFixed(2)} ${s.quote}, ${s.fills.length} fill${s.fills.length === 1 ? '' : 's'}`,
    body: `${s.decided} signal${s.decided === 1 ? '' : 's'} decided, ${s.orders} order${s.orders === 1 ? '' : 's'} sent (New York day ${s.day}).`,
    fields: [
      { name: 'fills', value: fills },
      { name: 'open positions', value: positions },
      { name: 'not traded', value: skipped },
    ],
    at,
  };
}
