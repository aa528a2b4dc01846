import type { BrokerEvent } from '../exchange/types.js';
import type { EquityOrderState, EquityPosition } from '../exchange/equity-types.js';

/**
 * What one broker order event (trade_updates, a REST catch-up, or the reply to our own POST) changes in the warm
 * account state (venue/account-state.ts), so that a streamed fill is seen by the next decision without a
 * positions read. Pure: the state before and the event in, the change out.
 *
 * Buying power moves as Alpaca moves it for buys: an open buy holds (qty - filled) x its limit (or the price we
 * asked at) from the moment it is known; each buy execution turns the held part into the spend; the rest is given
 * back when the order ends. Sells change nothing here: Alpaca replenishes only after the fill settles into the
 * account, and the next account read (5 s) says by how much - erring low refuses an entry, never overspends.
 */

/** What an open buy holds: `qty` shares at `px` each. */
export interface Reserve {
  px: number;
  qty: number;
}

export interface WarmBefore {
  position: EquityPosition | undefined;
  /** The order as the warm state holds it (open), if it does. */
  order: EquityOrderState | undefined;
  reserve: Reserve | undefined;
  /**
   * When each full read was asked for (ms). An event older than the read is already in it: applying it again
   * would count a fill twice or bring an ended order back.
   */
  readAt: { positions?: number | undefined; orders?: number | undefined; account?: number | undefined };
}

export interface WarmDelta {
  order: { set: EquityOrderState } | { remove: string } | undefined;
  position: { set: EquityPosition } | { remove: string } | undefined;
  /** Signed change of buying power. */
  buyingPower: number;
  /** undefined: unchanged; null: released. */
  reserve: Reserve | null | undefined;
}

const EPS = 1e-9;
const before = (at: number, readAt: number | undefined) => readAt !== undefined && at < readAt;

/** `refPrice`: the price an order we placed was decided at (a market buy has no limit to hold buying power at). */
export function warmDelta(e: BrokerEvent, b: WarmBefore, refPrice?: number): WarmDelta {
  const open = e.status === 'open';
  const isFill = e.event === 'fill' || e.event === 'partial_fill';
  // This execution: the event's own quantity, else the step of the order's cumulative fill since last seen.
  const execQty = isFill ? (e.qty ?? Math.max(0, e.filled - (b.order?.filled ?? 0))) : 0;
  const execPx = e.price ?? e.average;

  let order: WarmDelta['order'];
  if (!open) order = b.order ? { remove: e.orderId } : undefined;
  else if (!before(e.at, b.readAt.orders) || b.order)
    order = {
      set: {
        clientOrderId: e.clientOrderId,
        exchangeOrderId: e.orderId,
        status: 'open',
        amount: e.amount ?? b.order?.amount ?? e.filled,
        filled: Math.max(e.filled, b.order?.filled ?? 0),
        average: e.average ?? b.order?.average,
        feeQuote: 0,
        feeBase: 0,
        venueStatus: e.event,
        symbol: e.market,
        side: e.side,
        legs: b.order?.legs ?? [],
      },
    };

  let buyingPower = 0;
  let reserve: WarmDelta['reserve'];
  const bpCounts = !before(e.at, b.readAt.account);
  if (e.side === 'buy') {
    let held = b.reserve;
    if (held && execQty > EPS) {
      const released = Math.min(held.qty, execQty);
      if (bpCounts && execPx !== undefined) buyingPower += released * held.px - execQty * execPx;
      reserve = held = { px: held.px, qty: held.qty - released };
    } else if (execQty > EPS && execPx !== undefined && bpCounts) buyingPower -= execQty * execPx;
    if (!held && open) {
      const px = e.limitPrice ?? refPrice ?? e.average;
      const qty = (e.amount ?? 0) - e.filled;
      if (px !== undefined && px > 0 && qty > EPS) {
        reserve = held = { px, qty };
        if (bpCounts) buyingPower -= px * qty;
      }
    }
    if (held && (!open || held.qty <= EPS)) {
      if (bpCounts) buyingPower += held.qty * held.px;
      reserve = null;
    }
  }

  let position: WarmDelta['position'];
  if (isFill && (execQty > EPS || e.positionQty !== undefined) && !before(e.at, b.readAt.positions)) {
    const p = b.position;
    const signed = e.side === 'buy' ? execQty : -execQty;
    // The broker's own count after this execution when it says it (the stream's position_qty), else ours.
    const qty = e.positionQty ?? (p?.qty ?? 0) + signed;
    if (Math.abs(qty) <= EPS) position = { remove: e.market };
    else {
      const prior = qty - signed;
      const avg =
        e.side === 'buy' && execPx !== undefined && qty > EPS
          ? (Math.max(0, prior) * (p?.avgEntryPrice ?? execPx) + execQty * execPx) /
            (Math.max(0, prior) + execQty)
          : (p?.avgEntryPrice ?? execPx ?? 0);
      position = {
        set: {
          symbol: e.market,
          qty,
          qtyAvailable: Math.max(0, Math.min(qty, (p?.qtyAvailable ?? prior) + signed)),
          avgEntryPrice: avg,
          marketValue: undefined,
        },
      };
    }
  }
  return { order, position, buyingPower, reserve };
}
