import type { CalendarDay } from '../decide/sessions.js';
import type { OrderRequest, OrderState } from './types.js';

/**
 * What a US-equities venue (Alpaca) offers beyond ExchangeAdapter: sessions, a calendar, account standing, asset
 * flags, quotes for a spread guard, brackets and position exits. Nothing here imports ccxt.
 */

export type TimeInForce = 'day' | 'gtc';

export interface EquityOrderRequest extends OrderRequest {
  /** Explicit, always sent (ccxt would default to gtc). Default day. */
  timeInForce?: TimeInForce | undefined;
  /** Trade in the pre/after-hours sessions: limit orders only, DAY or GTC, never with a bracket. */
  extendedHours?: boolean | undefined;
  /** Entry with both exits attached at the broker (Alpaca order_class bracket). Prices are rounded to ticks. */
  bracket?:
    | {
        takeProfit: number;
        stopLoss: number;
        /** Makes the stop leg a stop-limit. */
        stopLossLimit?: number | undefined;
      }
    | undefined;
  /**
   * Exit pair for shares already held (Alpaca order_class oco): a take-profit limit and a stop, one cancels the
   * other. A bracket is for entries only; this is how an existing position is protected.
   */
  oco?: { takeProfit: number; stopLoss: number } | undefined;
}

export interface OrderLeg {
  kind: 'take_profit' | 'stop_loss';
  /** Alpaca-made ids: legs never carry our clientOrderId. */
  exchangeOrderId: string;
  clientOrderId: string;
  /** Alpaca's own status (held, new, filled, canceled, expired...). */
  venueStatus: string;
  status: OrderState['status'];
  filled: number;
  average: number | undefined;
  price: number | undefined;
  stopPrice: number | undefined;
}

export interface EquityOrderState extends OrderState {
  /** Alpaca's own status word: accepted/new are both "open", expired is "canceled" here. */
  venueStatus: string;
  symbol: string;
  side: 'buy' | 'sell';
  legs: OrderLeg[];
}

export interface EquityAccount {
  status: string;
  tradingBlocked: boolean;
  accountBlocked: boolean;
  /** The owner paused trading in Alpaca's dashboard. */
  tradeSuspendedByUser: boolean;
  /** True when status is ACTIVE and nothing blocks trading. */
  canTrade: boolean;
  buyingPower: number;
  cash: number;
  equity: number;
  multiplier: number;
  shortingEnabled: boolean;
  /** Alpaca removed PDT fields on 2026-07-06: undefined when absent. */
  patternDayTrader?: boolean | undefined;
  daytradeCount?: number | undefined;
}

export interface MarketClock {
  /** Epoch ms of the venue's clock. */
  now: number;
  /** Regular session (09:30-16:00 ET, earlier on early-close days) is open. */
  isOpen: boolean;
  nextOpen: number;
  nextClose: number;
}

/** The client's one calendar shape, from the pure side (decide/sessions.ts). */
export type { CalendarDay } from '../decide/sessions.js';

export interface Quote {
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
  /** Epoch ms of the quote. */
  time: number;
}

export interface AssetInfo {
  symbol: string;
  status: string;
  exchange: string;
  tradable: boolean;
  fractionable: boolean;
  shortable: boolean;
  /** easy_to_borrow is deprecated (sunset 2026-09-22) for borrow_status: read whichever is present. */
  easyToBorrow: boolean | undefined;
  borrowStatus: string | undefined;
  marginable: boolean;
  attributes: string[];
  fractionalExtendedHours: boolean;
}

export interface EquityPosition {
  symbol: string;
  qty: number;
  /** Not held by open sell orders (bracket legs hold shares). */
  qtyAvailable: number;
  avgEntryPrice: number;
  marketValue: number | undefined;
}

export interface ExitRequest {
  market: string;
  /** Our id for the selling order (deterministic, <= 128 chars). */
  clientOrderId: string;
  /** Default: the whole position. */
  amount?: number | undefined;
  type?: 'market' | 'limit' | undefined;
  price?: number | undefined;
  timeInForce?: TimeInForce | undefined;
  extendedHours?: boolean | undefined;
}

export interface EquityVenue {
  account(): Promise<EquityAccount>;
  clock(): Promise<MarketClock>;
  /** Trading days between two New York dates inclusive; holidays are absent. */
  calendar(start: string, end: string): Promise<CalendarDay[]>;
  /** Latest NBBO-ish quote (IEX without a paid plan); undefined when the venue has none. */
  latestQuote(symbol: string): Promise<Quote | undefined>;
  /** undefined when the venue does not know the symbol. */
  asset(symbol: string): Promise<AssetInfo | undefined>;
  positions(): Promise<EquityPosition[]>;
  position(symbol: string): Promise<EquityPosition | undefined>;
  createEquityOrder(req: EquityOrderRequest): Promise<EquityOrderState>;
  /** By OUR id, legs included; undefined = the venue does not know it; throws ExchangeUncertain = could not ask. */
  fetchEquityOrder(clientOrderId: string): Promise<EquityOrderState | undefined>;
  openOrders(market?: string): Promise<EquityOrderState[]>;
  cancelOrder(exchangeOrderId: string): Promise<void>;
  /** Cancel this client's open exits on the symbol (bracket legs, protective sells), then sell the position. */
  exitPosition(req: ExitRequest): Promise<EquityOrderState | undefined>;
}
