import type { Config } from '../config.js';
import { builtinCalendar, limitDay, sessionAt } from '../decide/index.js';
import type { Journal } from '../journal/index.js';
import type { PositionView, Snapshot } from './api.js';
import { attributePnl, equityCurve } from './attribution.js';
import { feedRow, killState, orderRow, type DashboardFeed } from './feed.js';

/**
 * Everything the page shows at once, from the journal alone: no broker or exchange call (the dashboard must
 * never slow down or rate-limit the trading process). Open positions are marked at the last price this client
 * recorded (a fill, or the reference price of a decision); in paper mode that is the simulated market.
 */

export const FEED_ROWS = 200;
export const ORDER_ROWS = 200;

export interface SnapshotOptions {
  config: Config;
  /** `run --live` in this process; the standalone dashboard reads the config's mode. */
  live?: boolean | undefined;
  /** Market time for the equity session (a simulated paper.market_clock), else real time. */
  marketNow?: (() => number) | undefined;
  now?: () => number;
}

export function buildSnapshot(journal: Journal, feed: DashboardFeed, o: SnapshotOptions): Snapshot {
  const now = (o.now ?? Date.now)();
  const q = journal.dashboard();
  const prices = q.lastPrices();
  const protective = q.openProtective().map(orderRow);
  let unrealized = 0;
  const positions: PositionView[] = q.positions().map((p) => {
    const last = prices[p.market];
    const value = last ? p.amount * last.price : null;
    const u = value === null ? null : value - p.cost;
    unrealized += u ?? 0;
    return {
      market: p.market,
      amount: p.amount,
      cost: p.cost,
      entry: p.amount > 0 ? p.cost / p.amount : 0,
      price: last?.price ?? null,
      price_at: last?.at ?? null,
      value,
      unrealized: u,
      protective: protective.filter((x) => x.market === p.market),
    };
  });
  const fills = q.fills();
  const attribution = attributePnl(fills, (m) => prices[m]?.price);
  const live = o.live ?? o.config.mode === 'live';
  const equityStart = live ? 0 : o.config.paper.starting_balance_quote;
  const realized = q.totalRealized();
  const marketNow = o.marketNow?.() ?? now;
  const session =
    o.config.exchange.venue === 'us_equity'
      ? {
          kind: sessionAt(marketNow, builtinCalendar(marketNow - 86_400_000, 9)).kind,
          ...(o.marketNow ? { market_time: Math.round(marketNow) } : {}),
        }
      : null;
  return {
    generated_at: now,
    stream: { epoch: feed.epoch, head_seq: feed.headSeq() },
    mode: live ? 'live' : 'paper',
    venue: o.config.exchange.venue,
    quote: o.config.exchange.quote.toUpperCase(),
    kill_switch: killState(journal.killSwitch()),
    halted: journal.halted() ?? null,
    presence: feed.presence(),
    session,
    feed: q.recentDecisions(FEED_ROWS).map(feedRow),
    positions,
    orders: q.recentIntents(ORDER_ROWS).map(orderRow),
    pnl: {
      realized,
      unrealized,
      // The day the daily loss limit counts (New York on us_equity), so the card and the limit agree.
      today_realized: q.realizedSince(limitDay(o.config.exchange.venue, now).start),
      equity_start: equityStart,
    },
    equity_curve: equityCurve(equityStart, q.realizedSeries(), unrealized, now, fills[0]?.updated_at),
    pnl_by_catalyst: attribution.byCatalyst,
    pnl_by_action: attribution.byAction,
  };
}
