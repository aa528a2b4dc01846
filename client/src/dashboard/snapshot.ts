import type { Config } from '../config.js';
import { builtinCalendar, limitDay, sessionAt } from '../decide/index.js';
import type { FillRow, Journal } from '../journal/index.js';
import { EPS } from '../ledger-math.js';
import type { FeedRow, PositionView, Snapshot } from './api.js';
import { equityCurve } from './attribution.js';
import { adoptionRow, feedRow, killState, orderRow, type DashboardFeed } from './feed.js';
import { performance } from './performance.js';

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
  const fills = q.fills();
  const paid = entryPrices(fills);
  const adoptions = journal.adoptions();
  const adopted = new Map<string, number>();
  for (const a of adoptions) adopted.set(a.symbol, (adopted.get(a.symbol) ?? 0) + a.qty);
  let unrealized = 0;
  const positions: PositionView[] = q.positions().map((p) => {
    const paidEntry = paid[p.market]?.entry;
    const last = prices[p.market];
    const value = last ? p.amount * last.price : null;
    const u = value === null ? null : value - p.cost;
    unrealized += u ?? 0;
    return {
      market: p.market,
      amount: p.amount,
      cost: p.cost,
      // What was paid per unit, fees apart: the trader's entry, not the cost basis.
      entry: paidEntry ?? (p.amount > 0 ? p.cost / p.amount : 0),
      fees: paidEntry === undefined ? 0 : Math.max(0, p.cost - paidEntry * p.amount),
      price: last?.price ?? null,
      price_at: last?.at ?? null,
      value,
      unrealized: u,
      protective: protective.filter((x) => x.market === p.market),
      // Sales come out of the one average-cost lot: adopted shares are "at most" what is still held.
      adopted: Math.min(p.amount, adopted.get(p.market) ?? 0),
    };
  });
  const perf = performance(fills, (m) => prices[m]?.price);
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
    feed: withAdoptions(
      q.recentDecisions(FEED_ROWS).map((d) => feedRow(d, journal.intentsFor(d.epoch, d.seq))),
      adoptions.map(adoptionRow),
    ),
    approvals: journal.approvals
      .open()
      .filter((a) => a.state === 'pending' && a.expires_at > now)
      .map((a) => ({
        epoch: a.epoch,
        seq: a.seq,
        symbol: a.symbol,
        detail: a.detail,
        expires_at: a.expires_at,
      })),
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
    pnl_by_catalyst: perf.by_catalyst,
    pnl_by_action: perf.by_action,
    pnl_by_session: perf.by_session,
    pnl_by_confidence: perf.by_confidence,
    trades: perf.trades,
  };
}

/** Adoptions (a few, at a start) take their place among the decisions by time, newest first. */
function withAdoptions(decisions: FeedRow[], adoptions: FeedRow[]): FeedRow[] {
  if (!adoptions.length) return decisions;
  return [...decisions, ...adoptions].sort((a, b) => b.decided_at - a.decided_at).slice(0, FEED_ROWS);
}

/**
 * Average entry price per market of what is held now, fees excluded, by the journal's average-cost rule
 * (ledger-math.ts applyFill): a buy adds its units at its fill price; a sell takes its share of the units and of
 * their price-only cost alike.
 */
export function entryPrices(
  fills: readonly Pick<FillRow, 'market' | 'side' | 'filled' | 'avg_price' | 'fee_base'>[],
): Record<string, { entry: number }> {
  // amount: units held (net of fees paid in base, as the journal counts them); gross/cost: units bought and
  // their price, so a fee taken in base does not raise the entry price either.
  const book = new Map<string, { amount: number; gross: number; cost: number }>();
  for (const f of fills) {
    if (f.avg_price === null || f.filled <= 0) continue;
    const h = book.get(f.market) ?? { amount: 0, gross: 0, cost: 0 };
    if (f.side === 'buy') {
      h.amount += f.filled - f.fee_base;
      h.gross += f.filled;
      h.cost += f.filled * f.avg_price;
    } else if (h.amount > EPS) {
      const keep = Math.max(0, 1 - f.filled / h.amount);
      h.amount *= keep;
      h.gross *= keep;
      h.cost *= keep;
    }
    book.set(f.market, h);
  }
  const out: Record<string, { entry: number }> = {};
  for (const [m, h] of book) if (h.amount > EPS && h.gross > EPS) out[m] = { entry: h.cost / h.gross };
  return out;
}
