import type { MarketInfo, OrderParams } from '../decide/index.js';

/**
 * What the executor needs from an exchange, live or simulated. Nothing here imports ccxt, so paper mode and
 * the CLI's light commands never pay for it.
 */

export interface OrderRequest {
  clientOrderId: string;
  market: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  amount: number;
  /** Limit price (limit orders). */
  price?: number | undefined;
  /** Price the decision used; paper fills at it when no ticker is available. */
  refPrice: number;
  /** Makes a limit order conditional: stop-loss / take-profit trigger price. */
  trigger?: { kind: 'stop_loss' | 'take_profit'; price: number } | undefined;
  /** us_equity: time in force, extended hours, bracket legs (decide/equity-plan.ts). Absent on crypto spot. */
  params?: OrderParams | undefined;
}

export interface OrderState {
  clientOrderId: string;
  exchangeOrderId: string;
  status: 'open' | 'closed' | 'canceled' | 'rejected';
  amount: number;
  filled: number;
  average: number | undefined;
  feeQuote: number;
  feeBase: number;
  /**
   * A bracket's take-profit and stop legs as the broker keeps them (orders of their own, with broker-made ids),
   * journaled as intents of their own so positions follow their fills. The paper twin reports them; the live
   * Alpaca adapter keeps its legs in EquityOrderState.legs (followed through the broker's events instead).
   */
  bracketLegs?: LegState[] | undefined;
}

/** One leg of a bracket: its kind, its level and its own order state. */
export interface LegState {
  /** The intent leg it is journaled as. */
  leg: 'bracket_tp' | 'bracket_sl';
  price: number;
  state: OrderState;
}

export interface Balances {
  free: Record<string, number>;
}

export interface ExchangeAdapter {
  /** Whether orders are simulated or real: the mode. */
  readonly kind: 'paper' | 'live';
  readonly quote: string;
  /** Loads market rules. Paper mode survives a failure (it falls back to default rules). */
  loadMarkets(): Promise<{ loaded: boolean; count: number; error?: string | undefined }>;
  market(symbol: string): MarketInfo | undefined;
  /** Last price, or undefined when unknown (offline paper, or the request failed). */
  ticker(symbol: string): Promise<number | undefined>;
  balances(): Promise<Balances>;
  createOrder(req: OrderRequest): Promise<OrderState>;
  /** Look an order up by OUR id; undefined when the exchange does not know it. Throws ExchangeUncertain when it cannot tell. */
  fetchOrder(clientOrderId: string, market: string): Promise<OrderState | undefined>;
  /**
   * Cancel a resting order by OUR id (a protective stop, before an exit sells the balance it holds on spot).
   * Whatever it answers, the caller then asks fetchOrder: the exchange's state decides, not this call.
   */
  cancelOwnOrder?(clientOrderId: string, market: string): Promise<void>;
  /**
   * A simulated market (paper): take the next price step at real time `now` and apply the fill rules to the
   * resting orders; true when an order changed (the caller then reconciles the journal).
   */
  tick?(now: number): Promise<boolean>;
  /**
   * Replace a resting limit order (Alpaca PATCH /v2/orders/{id}: a new order with a new id replaces it, never a
   * cancel + new): the order known by `current` (our id) becomes `next` (our id) at `price`. Throws
   * ExchangeRejected when the broker refuses (not open any more, not replaceable).
   */
  replaceOrder?(r: {
    current: string;
    next: string;
    price: number;
    market: string;
    timeInForce: 'day' | 'gtc';
  }): Promise<OrderState>;
  /** The best bid and ask now, when the venue has them (working orders move toward it). */
  bestQuote?(symbol: string): Promise<{ bid: number; ask: number } | undefined>;
  close(): Promise<void>;
}

/** The exchange refused the order: nothing executed, retrying the same request would fail again. */
export class ExchangeRejected extends Error {
  override name = 'ExchangeRejected';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The outcome is unknown (timeout, network, 5xx): the order MAY have executed. Reconcile before anything else. */
export class ExchangeUncertain extends Error {
  override name = 'ExchangeUncertain';
  readonly code = 'uncertain';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * One fact about one order, from the broker's event stream or read back over REST after a gap (docs/broker-events.md).
 * `key` is the idempotency key: the same fact from either source has the same key. A fill's key is its order and the
 * order's cumulative quantity after it (an execution is one step of that total, whoever reports it).
 */
export interface BrokerEvent {
  key: string;
  /** new, fill, partial_fill, canceled, expired, replaced, rejected, ... (the broker's word). */
  event: string;
  orderId: string;
  clientOrderId: string;
  market: string;
  side: 'buy' | 'sell';
  /** The order's state after this event. */
  status: OrderState['status'];
  /** Cumulative filled quantity and average price of the order after this event. */
  filled: number;
  average: number | undefined;
  /** This execution (fills only). */
  executionId?: string | undefined;
  qty?: number | undefined;
  price?: number | undefined;
  /**
   * Cumulative fees of the order after this event, in the quote or the base asset, where the broker reports them
   * per execution (Binance's commission `n`/`N`); undefined when not known for sure (a missed execution).
   */
  feeQuote?: number | undefined;
  feeBase?: number | undefined;
  /** The order's quantity and limit price, when the broker says them (a buy holds buying power by them). */
  amount?: number | undefined;
  limitPrice?: number | undefined;
  /** The account's position in the symbol after this event (Alpaca's stream sends it with fills; REST does not). */
  positionQty?: number | undefined;
  /** Broker time of the event, ms. */
  at: number;
  /** Child orders (bracket / OCO legs, broker-made ids) listed on this order. */
  legs: { orderId: string; clientOrderId: string }[];
  source: 'stream' | 'rest';
}

/** The key of a fill: order + cumulative quantity (9 decimals), the same from a stream event and a REST read. */
export const fillKey = (clientOrderId: string, cum: number) =>
  `fill:${clientOrderId}:${Math.round(cum * 1e9) / 1e9}`;

/** Where a followed broker stream delivers: each event, and "subscribed (again): catch up what was missed". */
export interface BrokerEventSink {
  onEvent(e: BrokerEvent): void;
  onLive(): void;
  onDown?(why: string): void;
}

/** A running subscription to the broker's order events; reconnects by itself until closed. */
export interface BrokerFollow {
  readonly up: boolean;
  close(): Promise<void>;
}

/**
 * Where a venue's broker order events come from (docs/broker-events.md): Alpaca's trade_updates, Binance's
 * user-data stream through ccxt, or a REST poll where the venue streams nothing. follow.ts consumes any of them
 * the same way: stream events applied as they come, eventsSince() read back on start, on every (re)subscription
 * and on a timer, each event once by its key.
 */
export interface BrokerEventSource {
  /** What is followed, for logs ("alpaca trade_updates", "binance user data"). */
  readonly name: string;
  /** Subscribe; reconnects by itself until closed. Absent: the venue has no stream and is polled every pollMs. */
  follow?(sink: BrokerEventSink): BrokerFollow;
  /** What the broker did since `since` (broker time, ms), read over REST as events with the stream's keys. */
  eventsSince(since: number): Promise<BrokerEvent[]>;
  /** No stream: how often eventsSince is polled (ms). */
  readonly pollMs?: number | undefined;
}
