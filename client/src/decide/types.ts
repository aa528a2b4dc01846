import type { Signal } from '@catalyst-signal/shared';
import type { Config, VenueKind } from '../config.js';
import type { ReasonCode } from './reasons.js';

/**
 * Exchange rules of one market, normalised from ccxt (or defaults when offline). Steps, not decimal counts.
 * Not every venue trades pairs: on us_equity `symbol` and `base` are the ticker ("AAPL") and `quote` is USD.
 */
export interface MarketInfo {
  /** Exchange market symbol, e.g. "BTC/USDT" (crypto spot) or "AAPL" (US equity). */
  symbol: string;
  /** What is bought: the base currency, or the ticker of a share. */
  base: string;
  /** What prices and cost are in. */
  quote: string;
  /** Venue of this market; absent means crypto_spot (how every market was built before venues existed). */
  venue?: VenueKind | undefined;
  /** US equity asset flags from the broker (absent on crypto; absent flags are taken as the cautious value). */
  equity?: EquityAsset | undefined;
  amountStep: number;
  priceStep: number;
  minAmount: number;
  minCost: number;
  maxAmount?: number | undefined;
  /** True when these are assumed defaults, not the exchange's own rules. */
  assumed?: boolean | undefined;
}

/** What the broker says about a US equity (Alpaca /v2/assets), as the pure rules need it. */
export interface EquityAsset {
  tradable: boolean;
  fractionable: boolean;
  shortable: boolean;
  /** Fractional orders allowed in extended hours (Alpaca attribute fractional_eh_enabled). */
  fractionalExtendedHours?: boolean | undefined;
}

export interface Position {
  market: string;
  /** Base amount this client holds from its own fills. */
  amount: number;
  /** Quote spent on what is still held (cost basis), fees included. */
  cost: number;
}

/** Everything the decision needs to know about the world, captured at one instant. */
export interface DecisionState {
  killSwitch: boolean;
  positions: readonly Position[];
  /** Realized P&L (quote, fees included) of the limits' day (risk.ts limitDay: UTC, or New York on us_equity). */
  dailyPnl: number;
  ordersToday: number;
  /** Last time (ms) this client sent an entry in each market (the cooldown's clock; exits and protection not). */
  lastTradeAt: Readonly<Record<string, number>>;
  /** Equity in quote (free quote + positions at cost). */
  equity: number;
  /** Free quote balance. */
  freeQuote: number;
  /** Symbol (upper case) -> entry block in force (earlier avoid or exit signals), from the journal. */
  avoids?: Readonly<Record<string, EntryBlock>> | undefined;
}

/** Entries in a symbol blocked until `until` (ms) by an earlier signal, named so a skip can say which. */
export interface EntryBlock {
  until: number;
  kind: 'exit' | 'avoid';
  /** Sequence number and catalyst of the signal that set the block. */
  seq: number;
  catalyst?: string | undefined;
}

export interface DecisionInput {
  signal: Signal;
  /** Decision time (ms). */
  now: number;
  /** Market the signal maps to, undefined when none exists. */
  market: MarketInfo | undefined;
  /** Current exchange price, when known. */
  ticker: number | undefined;
  state: DecisionState;
}

export type Verdict = 'trade' | 'skip' | 'reject';

export type LegName = 'entry' | 'exit';

export interface OrderLeg {
  leg: LegName;
  market: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  amount: number;
  /** Reference price used to size (ticker or signal price). */
  refPrice: number;
  /** Limit price (limit orders only). */
  limitPrice?: number | undefined;
  /** Value at the reference (or limit) price, quote. */
  quote: number;
  /** Protective prices to place after the fill, when any. */
  stopLoss?: number | undefined;
  takeProfit?: number | undefined;
  /** Venue-specific order parameters (US equities); absent on crypto spot, whose orders are plain. */
  params?: OrderParams | undefined;
}

/** How an equity order is sent: Alpaca's time in force, extended hours, and a bracket's attached legs. */
export interface OrderParams {
  timeInForce: 'day' | 'gtc';
  extendedHours: boolean;
  /** oco: a protective exit pair (take-profit limit + stop) for a position already held, placed at the open. */
  orderClass: 'simple' | 'bracket' | 'oco';
  /** Bracket / OCO legs (regular session only). */
  takeProfit?: number | undefined;
  stopLoss?: number | undefined;
  /** Extended-hours entry: place stop/target when the regular session opens (recorded intent, not an order). */
  protectAtOpen?: boolean | undefined;
  /** An exit: cancel this client's open protective orders in the symbol before selling. */
  cancelProtectiveFirst?: boolean | undefined;
}

export interface Decision {
  verdict: Verdict;
  /** Stable machine reason from the catalogue (reasons.ts), e.g. "skipped:stale". */
  reason: ReasonCode;
  /** Human detail (numbers). */
  detail?: string | undefined;
  legs: OrderLeg[];
  /** An `avoid` or `exit` decision: no entries in the signal's symbol until this instant (ms), journaled with it. */
  avoidUntil?: number | undefined;
  /** A deferred decision (hold_until_open): decide this signal again at this instant (ms). */
  retryAt?: number | undefined;
  /** The US market session the signal met (us_equity only; the venue adds it): journaled for P&L by session. */
  session?: 'pre' | 'regular' | 'after' | 'closed' | undefined;
}

export type DecideConfig = Pick<Config, 'filters' | 'sizing' | 'risk' | 'execution' | 'exchange'>;
