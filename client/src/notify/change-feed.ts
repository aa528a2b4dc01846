import type { Config } from '../config.js';
import { newYorkDayStart, limitDay } from '../decide/index.js';
import type { Journal } from '../journal/index.js';
import { dailySummaryMessage, summaryDueAt } from './daily-summary.js';
import { messagesForChange, type SeenOrder } from './from-changes.js';
import type { Notifier } from './index.js';

/**
 * Notifications from the journal's change log: every poll reads the changes after the cursor (journal meta
 * notify_cursor, so a restart neither repeats nor skips much: at most the last poll's worth), turns them into
 * messages and queues them. Everything `run` and the other commands journal (a fill, a refusal, `pause` from
 * another shell) is therefore told, without hooks at each place it happens. Also sends the daily summary once
 * per New York day after the close (journal meta notify_summary_day).
 */

export const NOTIFY_CURSOR_META = 'notify_cursor';
export const NOTIFY_SUMMARY_META = 'notify_summary_day';

export interface ChangeFeedOptions {
  pollMs?: number;
  now?: () => number;
}

export class ChangeFeed {
  private cursor: number;
  private savedCursor: number;
  private readonly seen = new Map<string, SeenOrder>();
  private timer: NodeJS.Timeout | undefined;
  private lastSave = 0;
  private readonly now: () => number;

  constructor(
    private readonly journal: Journal,
    private readonly notifier: Notifier,
    private readonly config: Config,
    private readonly mode: 'paper' | 'LIVE',
    private readonly o: ChangeFeedOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    const saved = Number(journal.meta(NOTIFY_CURSOR_META));
    // A first start tells what happens from now on, not the journal's whole history.
    this.cursor = Number.isInteger(saved) && saved > 0 ? saved : journal.lastChangeId();
    this.savedCursor = Number.isInteger(saved) && saved > 0 ? saved : -1;
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), this.o.pollMs ?? 250);
    this.timer.unref();
  }

  /** Read, queue, remember. Never throws (a notification problem is not a trading problem). */
  poll(): void {
    try {
      for (;;) {
        const rows = this.journal.changesAfter(this.cursor, 200);
        for (const c of rows) {
          const order =
            c.kind === 'order' && typeof c.data['client_order_id'] === 'string'
              ? (c.data['client_order_id'] as string)
              : undefined;
          const msgs = messagesForChange(c, order ? this.seen.get(order) : undefined, {
            mode: this.mode,
            quote: this.config.exchange.quote.toUpperCase(),
            realizedOf: (market, at) => this.journal.realizedAt(market, at),
          });
          for (const m of msgs) this.notifier.emit(m);
          if (order)
            this.seen.set(order, { status: String(c.data['status']), filled: Number(c.data['filled']) || 0 });
          this.cursor = c.id;
        }
        if (rows.length < 200) break;
      }
      this.summaryIfDue();
      this.save(false);
    } catch (e) {
      this.notifier.logWarn('notification feed failed', e);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
    this.save(true);
  }

  private save(force: boolean): void {
    const now = this.now();
    if (this.cursor === this.savedCursor || (!force && now - this.lastSave < 2000)) return;
    // Coalesced: one small meta write every two seconds at most, never per change.
    this.journal.setMeta(NOTIFY_CURSOR_META, String(this.cursor));
    this.savedCursor = this.cursor;
    this.lastSave = now;
  }

  private summaryIfDue(): void {
    const now = this.now();
    if (now < summaryDueAt(now)) return;
    const start = newYorkDayStart(now);
    const { day } = limitDay('us_equity', now);
    if (this.journal.meta(NOTIFY_SUMMARY_META) === day) return;
    this.journal.setMeta(NOTIFY_SUMMARY_META, day);
    const state = this.journal.decisionState(now, { equity: 0, freeQuote: 0 }, start);
    const decisions = this.journal.decisions({ sinceMs: start, limit: 100_000 });
    const counts = new Map<string, { verdict: string; reason: string; n: number }>();
    for (const d of decisions) {
      if (d.verdict === 'traded') continue;
      const k = `${d.verdict}\u0000${d.reason}`;
      const c = counts.get(k) ?? { verdict: d.verdict, reason: d.reason, n: 0 };
      c.n++;
      counts.set(k, c);
    }
    const fills = this.journal
      .allIntents()
      .filter((i) => i.filled > 0 && i.updated_at >= start)
      .map((i) => ({ market: i.market, side: i.side, amount: i.filled, price: i.avg_price }));
    this.notifier.emit(
      dailySummaryMessage(now, {
        day,
        mode: this.mode,
        quote: this.config.exchange.quote.toUpperCase(),
        realized: state.dailyPnl,
        orders: state.ordersToday,
        fills,
        positions: state.positions.map((p) => ({ market: p.market, amount: p.amount, cost: p.cost })),
        decided: decisions.length,
        notTraded: [...counts.values()].sort((a, b) => b.n - a.n),
      }),
    );
  }
}
