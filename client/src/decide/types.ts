import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../config.js';

/** Exchange rules of one market, normalised from ccxt (or defaults when offline). Steps, not decimal counts. */
export interface MarketInfo {
  /** Exchange market symbol, e.g. "BTC/USDT". */
  symbol: string;
  base: string;
  quote: string;
  amountStep: number;
  priceStep: number;
  minAmount: number;
  minCost: number;
  maxAmount?: number | undefined;
  /** True when these are assumed defaults, not the exchange's own rules. */
  assumed?: boolean | undefined;
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
  /** Realized P&L (quote, fees included) of the current UTC day. */
  dailyPnl: number;
  ordersToday: number;
  /** Last time (ms) this client traded each market. */
  lastTradeAt: Readonly<Record<string, number>>;
  /** Equity in quote (free quote + positions at cost). */
  equity: number;
  /** Free quote balance. */
  freeQuote: number;
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
}

export interface Decision {
  verdict: Verdict;
  /** Stable machine reason, e.g. "skipped:stale". */
  reason: string;
  /** Human detail (numbers). */
  detail?: string | undefined;
  legs: OrderLeg[];
}

export type DecideConfig = Pick<Config, 'filters' | 'sizing' | 'risk' | 'execution'>;
