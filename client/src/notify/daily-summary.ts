import { fmt } from '../report.js';
import { priorityOf, type NotifyMessage } from './events.js';

/**
 * The daily summary after the New York close (pure): today's realised P&L, what traded, what is still open, and
 * what was skipped, in counts by reason.
 */

/** Sent this long after New York midnight: 16:05, five minutes after the close (an hour off on the two DST days). */
export const SUMMARY_AFTER_NY_MIDNIGHT_MS = (16 * 60 + 5) * 60_000;

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
