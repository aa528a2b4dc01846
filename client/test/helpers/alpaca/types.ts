/** Shapes the Alpaca emulator keeps. Prices are numbers here; the wire carries them as strings. */

export interface EmuAsset {
  symbol: string;
  name?: string;
  exchange: string; // NASDAQ, NYSE, ARCA, AMEX, OTC
  status: 'active' | 'inactive';
  tradable: boolean;
  marginable: boolean;
  shortable: boolean;
  easy_to_borrow: boolean;
  fractionable: boolean;
  attributes: string[]; // e.g. fractional_eh_enabled
  /** Reference price for the default quote (bid = ask = last = price until setQuote). */
  price: number;
}

export interface EmuQuote {
  bid: number;
  ask: number;
  last: number;
}

export type EmuStatus =
  | 'accepted'
  | 'new'
  | 'partially_filled'
  | 'filled'
  | 'canceled'
  | 'expired'
  | 'held'
  | 'rejected'
  | 'replaced';

export interface EmuOrder {
  id: string;
  client_order_id: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit' | 'stop' | 'stop_limit';
  time_in_force: 'day' | 'gtc' | 'opg' | 'cls' | 'ioc' | 'fok';
  order_class: '' | 'simple' | 'bracket' | 'oco' | 'oto';
  qty: number | undefined;
  notional: number | undefined;
  filled_qty: number;
  filled_avg_price: number | undefined;
  limit_price: number | undefined;
  stop_price: number | undefined;
  extended_hours: boolean;
  status: EmuStatus;
  created_at: number;
  filled_at: number | undefined;
  canceled_at: number | undefined;
  expired_at: number | undefined;
  /** Close of the session after which a DAY order expires (undefined: GTC). */
  expires_at: number | undefined;
  /** Bracket children (Alpaca-made ids), in the order take_profit, stop_loss. */
  legs: EmuOrder[];
  /** For a leg: which one, and its parent. */
  leg?: 'take_profit' | 'stop_loss' | undefined;
  parent?: EmuOrder | undefined;
  /** A leg may trade only once its entry has filled; a stop triggers only in regular hours. */
  armed: boolean;
  /** Replace (replace.ts): the order this one replaced, or the one that replaced it, and when. */
  replaces?: string | undefined;
  replaced_by?: string | undefined;
  replaced_at?: number | undefined;
  /** The raw JSON body this order was created from (tests assert on it). */
  body: Record<string, unknown>;
}

export interface EmuPosition {
  symbol: string;
  qty: number;
  avg_entry_price: number;
}

export interface EmuAccountSettings {
  cash: number;
  /** 1 = cash account, 2 = RegT margin, 4 = intraday margin. */
  multiplier: number;
  status: string;
  trading_blocked: boolean;
  account_blocked: boolean;
  trade_suspended_by_user: boolean;
  shorting_enabled: boolean;
  /** Retired PDT fields: absent (Alpaca since 2026-07-06) unless a test sets them, like an older account reply. */
  pattern_day_trader?: boolean | undefined;
  daytrade_count?: number | undefined;
}

/** Raised inside the emulator to answer with an Alpaca error envelope. */
export class AlpacaReply extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body['message'] ?? status));
  }
}

export const refuse = (message: string, extra: Record<string, unknown> = {}) =>
  new AlpacaReply(403, { code: 40310000, message, ...extra });
export const unprocessable = (message: string, code = 42210000) => new AlpacaReply(422, { code, message });
export const notFound = (message: string) => new AlpacaReply(404, { code: 40410000, message });
