import type { BrokerClock, CalendarDay } from '../decide/index.js';
import type {
  AssetInfo,
  EquityAccount,
  EquityOrderState,
  EquityPosition,
  MarketClock,
} from '../exchange/equity-types.js';
import type { BrokerEvent } from '../exchange/types.js';
import { warmDelta, type Reserve } from './warm-delta.js';

/**
 * The broker account as last seen, kept warm so that an entry reads nothing from the broker's trading API before
 * its order (issue 21). Pure: every fact arrives through apply() with the time it was read, and every question
 * takes `now`. The IO that feeds it lives in exchange/account-refresh.ts (background reads); the broker's
 * trade_updates stream feeds it through the same apply() ({ kind: 'broker' }, follow.ts, in the step that journals
 * the event; venue/warm-delta.ts says what each event changes). docs/broker-events.md states the bounds below.
 */

export type WarmFact = 'account' | 'positions' | 'orders' | 'assets' | 'clock' | 'calendar';

/**
 * How often each fact is read in the background and how old it may be before a decision that needs it is
 * refused (skipped:state_stale). Scheduled reads: 12 + 12 + 6 + 2 + 1 + ~0 = ~33 requests/min, a sixth of
 * Alpaca's 200/min, so orders keep the rest. The bounds allow a few failed refreshes in a row; asset flags are
 * short because a halt flips `tradable`.
 */
export const WARM_FACTS: Readonly<Record<WarmFact, { refreshMs: number; staleMs: number }>> = {
  account: { refreshMs: 5_000, staleMs: 20_000 },
  positions: { refreshMs: 5_000, staleMs: 20_000 },
  orders: { refreshMs: 10_000, staleMs: 40_000 },
  assets: { refreshMs: 30_000, staleMs: 90_000 },
  clock: { refreshMs: 60_000, staleMs: 180_000 },
  calendar: { refreshMs: 3_600_000, staleMs: 6 * 3_600_000 },
};

/** Requests per minute the background schedule above makes. */
export const WARM_REQUESTS_PER_MIN = Object.values(WARM_FACTS).reduce((n, f) => n + 60_000 / f.refreshMs, 0);

/** A fact read from the broker (a refresh), or one order's new state (our own placement, a stream event). */
export type AccountEvent =
  | { kind: 'account'; account: EquityAccount }
  | { kind: 'positions'; positions: EquityPosition[] }
  | { kind: 'orders'; orders: EquityOrderState[] }
  | { kind: 'assets'; assets: AssetInfo[] }
  | { kind: 'clock'; clock: MarketClock }
  | { kind: 'calendar'; days: CalendarDay[] }
  /**
   * The reply to our own POST: `price` is what the order was decided at. `positionQty` is the broker's position
   * after a fill, when known.
   */
  | { kind: 'order'; order: EquityOrderState; positionQty?: number | undefined; price?: number | undefined }
  /** One broker order event (trade_updates, or read back by a catch-up), as journaled. */
  | { kind: 'broker'; event: BrokerEvent };

export interface Stale {
  fact: WarmFact;
  /** undefined: never read. */
  ageMs: number | undefined;
  limitMs: number;
}

export class AccountState {
  private readonly at = new Map<WarmFact, number>();
  private accountFact: EquityAccount | undefined;
  private positionsFact = new Map<string, EquityPosition>();
  private ordersFact = new Map<string, EquityOrderState>();
  /** What each open buy we know of holds of the buying power (warm-delta.ts). */
  private reserves = new Map<string, Reserve>();
  /**
   * Orders heard to have ended (bounded): later news of one is older news (our POST reply overtaken by a quick
   * fill on the stream, a reordered partial fill) and must not bring it back, hold buying power or count a fill again.
   */
  private readonly ended = new Set<string>();
  private assetsFact = new Map<string, AssetInfo>();
  private clockFact: MarketClock | undefined;
  private calendarFact: CalendarDay[] = [];

  constructor(private readonly bounds: Readonly<Record<WarmFact, { staleMs: number }>> = WARM_FACTS) {}

  apply(e: AccountEvent, at: number): void {
    switch (e.kind) {
      case 'account':
        this.accountFact = e.account;
        return this.seen('account', at);
      case 'positions':
        this.positionsFact = new Map(e.positions.map((p) => [p.symbol, p]));
        return this.seen('positions', at);
      case 'orders':
        this.ordersFact = new Map(
          e.orders.filter((o) => o.status === 'open').map((o) => [o.exchangeOrderId, o]),
        );
        for (const id of this.reserves.keys()) if (!this.ordersFact.has(id)) this.reserves.delete(id);
        return this.seen('orders', at);
      case 'assets':
        this.assetsFact = new Map(e.assets.map((a) => [a.symbol, a]));
        return this.seen('assets', at);
      case 'clock':
        this.clockFact = e.clock;
        return this.seen('clock', at);
      case 'calendar':
        this.calendarFact = e.days;
        return this.seen('calendar', at);
      case 'order':
        return this.applyOrder(e, at);
      case 'broker':
        return this.applyBroker(e.event);
    }
  }

  private seen(fact: WarmFact, at: number): void {
    // A late reply never makes a fact look older than one already applied.
    this.at.set(fact, Math.max(at, this.at.get(fact) ?? -Infinity));
  }

  /** Our own order's reply, seen as the broker event it amounts to. */
  private applyOrder(e: Extract<AccountEvent, { kind: 'order' }>, at: number): void {
    const o = e.order;
    const filled = o.status === 'closed' || o.filled > 0;
    this.applyBroker(
      {
        key: '',
        event: filled ? (o.status === 'open' ? 'partial_fill' : 'fill') : o.venueStatus,
        orderId: o.exchangeOrderId,
        clientOrderId: o.clientOrderId,
        market: o.symbol,
        side: o.side,
        status: o.status,
        filled: o.filled,
        average: o.average,
        amount: o.amount,
        positionQty: e.positionQty,
        at,
        legs: [],
        source: 'rest',
      },
      e.price,
    );
  }

  /** One order's news, through the one mapping of events to changes (warm-delta.ts). */
  private applyBroker(ev: BrokerEvent, refPrice?: number): void {
    if (this.ended.has(ev.orderId)) return;
    if (ev.status !== 'open') {
      if (this.ended.size >= 1000) this.ended.clear();
      this.ended.add(ev.orderId);
    }
    const d = warmDelta(
      ev,
      {
        position: this.positionsFact.get(ev.market),
        order: this.ordersFact.get(ev.orderId),
        reserve: this.reserves.get(ev.orderId),
        readAt: {
          positions: this.at.get('positions'),
          orders: this.at.get('orders'),
          account: this.at.get('account'),
        },
      },
      refPrice,
    );
    if (d.order && 'set' in d.order) this.ordersFact.set(ev.orderId, d.order.set);
    else if (d.order) this.ordersFact.delete(ev.orderId);
    if (d.reserve === null) this.reserves.delete(ev.orderId);
    else if (d.reserve) this.reserves.set(ev.orderId, d.reserve);
    if (d.position && 'set' in d.position) this.positionsFact.set(ev.market, d.position.set);
    else if (d.position) this.positionsFact.delete(ev.market);
    if (d.buyingPower !== 0 && this.accountFact)
      this.accountFact = {
        ...this.accountFact,
        buyingPower: Math.max(0, this.accountFact.buyingPower + d.buyingPower),
      };
  }

  /** Age of a fact at `now`; undefined when it was never read. */
  age(fact: WarmFact, now: number): number | undefined {
    const at = this.at.get(fact);
    return at === undefined ? undefined : Math.max(0, now - at);
  }

  /** The first of `facts` that was never read or is older than its bound at `now`. */
  stale(facts: readonly WarmFact[], now: number): Stale | undefined {
    for (const fact of facts) {
      const ageMs = this.age(fact, now);
      const limitMs = this.bounds[fact].staleMs;
      if (ageMs === undefined || ageMs > limitMs) return { fact, ageMs, limitMs };
    }
    return undefined;
  }

  account(): EquityAccount | undefined {
    return this.accountFact;
  }
  positions(): EquityPosition[] {
    return [...this.positionsFact.values()];
  }
  openOrders(symbol?: string): EquityOrderState[] {
    return [...this.ordersFact.values()].filter((o) => symbol === undefined || o.symbol === symbol);
  }
  /** undefined: the broker lists no active asset by that symbol. */
  asset(symbol: string): AssetInfo | undefined {
    return this.assetsFact.get(symbol.toUpperCase());
  }
  calendar(): CalendarDay[] {
    return this.calendarFact;
  }

  /**
   * The broker's "is the regular session open" at `now`, from the last clock read: it holds until the next
   * open/close the broker announced with it, and says nothing after that (the calendar decides alone).
   */
  brokerClock(now: number): BrokerClock | undefined {
    const c = this.clockFact;
    if (!c || this.stale(['clock'], now)) return undefined;
    const until = c.isOpen ? c.nextClose : c.nextOpen;
    return now < until ? { is_open: c.isOpen } : undefined;
  }
}
