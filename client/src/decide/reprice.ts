import type { EquitiesConfig } from '../config-equities.js';
import { roundEquityPrice } from './equity-plan.js';

/**
 * Working orders, pure (time, quote and the order's journaled state are arguments): an extended-hours limit entry
 * that has not filled after equities.reprice_after_ms is replaced toward the quote, on a ladder from the signal
 * price to the limit_slippage_pct bound (step k of max_reprices reaches k/max of the way), never beyond that
 * bound and never above the ask (below the bid for a sell); after max_reprices replaces and one more wait, it is
 * cancelled.
 */

export interface WorkingOrder {
  side: 'buy' | 'sell';
  /** The limit resting at the broker now. */
  limit: number;
  /** The signal's price: where the ladder starts. */
  refPrice: number;
  /** Replaces done so far. */
  steps: number;
  /** When the resting limit was placed (the order, or its last replace). */
  since: number;
}

export type RepriceAction =
  | { kind: 'wait'; until: number }
  | { kind: 'replace'; price: number; step: number }
  | { kind: 'cancel'; detail: string };

/** The furthest a working order may go: the limit_slippage_pct bound, on a tick. */
export function repriceBound(
  o: Pick<WorkingOrder, 'side' | 'refPrice'>,
  cfg: Pick<EquitiesConfig, 'limit_slippage_pct'>,
): number {
  const buy = o.side === 'buy';
  const slip = cfg.limit_slippage_pct / 100;
  return roundEquityPrice(o.refPrice * (buy ? 1 + slip : 1 - slip), buy ? 'down' : 'up');
}

export function nextReprice(
  o: WorkingOrder,
  quote: { bid: number; ask: number } | undefined,
  now: number,
  cfg: Pick<EquitiesConfig, 'limit_slippage_pct' | 'reprice_after_ms' | 'max_reprices'>,
): RepriceAction {
  const until = o.since + cfg.reprice_after_ms;
  if (now < until) return { kind: 'wait', until };
  if (o.steps >= cfg.max_reprices)
    return {
      kind: 'cancel',
      detail: `not filled after ${o.steps} reprice${o.steps === 1 ? '' : 's'} (last limit ${o.limit})`,
    };
  const buy = o.side === 'buy';
  const bound = repriceBound(o, cfg);
  const step = o.steps + 1;
  const ladder = o.refPrice + ((bound - o.refPrice) * step) / cfg.max_reprices;
  // Toward the quote: never pay more than the ask (or sell below the bid) when it is inside the ladder's step.
  const toward = quote ? (buy ? Math.min(ladder, quote.ask) : Math.max(ladder, quote.bid)) : ladder;
  let price = roundEquityPrice(toward, buy ? 'down' : 'up');
  price = buy ? Math.min(price, bound) : Math.max(price, bound);
  // The quote is already at or through the resting limit: it should fill as it is, moving it gains nothing.
  if (buy ? price <= o.limit : price >= o.limit) return { kind: 'wait', until: now + cfg.reprice_after_ms };
  return { kind: 'replace', price, step };
}
