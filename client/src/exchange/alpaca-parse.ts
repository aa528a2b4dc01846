import type {
  AssetInfo,
  CalendarDay,
  EquityAccount,
  EquityOrderState,
  EquityPosition,
  MarketClock,
  OrderLeg,
  Quote,
} from './equity-types.js';
import type { OrderState } from './types.js';

/** Pure conversions between Alpaca's JSON and the client's shapes, and Alpaca's price ticks. */

type Json = Record<string, unknown>;

const n = (v: unknown): number | undefined => {
  if (v === null || v === undefined || v === '') return undefined;
  const x = Number(v);
  return Number.isFinite(x) ? x : undefined;
};
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Alpaca's tick for a price: whole cents at or above $1, 0.0001 below. */
export const tickFor = (price: number) => (price >= 1 ? 0.01 : 0.0001);

/**
 * Round to Alpaca's tick and format as Alpaca wants it (a string). `up`/`down` keep a bracket leg at least as far
 * from the entry as asked; `nearest` for entry limits.
 */
export function formatPrice(price: number, mode: 'nearest' | 'up' | 'down' = 'nearest'): string {
  if (!(price > 0) || !Number.isFinite(price)) throw new RangeError(`invalid price ${price}`);
  const tick = tickFor(price);
  const f = mode === 'up' ? Math.ceil : mode === 'down' ? Math.floor : Math.round;
  // The 1e-9 nudge keeps 11.05/0.01 = 1104.9999999 from flooring to 11.04.
  const units = f(price / tick + (mode === 'up' ? -1e-9 : 1e-9));
  const r = units * tick;
  return r >= 1 ? r.toFixed(2) : r.toFixed(4);
}

const STATUS: Record<string, OrderState['status']> = {
  filled: 'closed',
  calculated: 'closed',
  canceled: 'canceled',
  expired: 'canceled',
  replaced: 'canceled',
  rejected: 'rejected',
};
/** accepted, pending_new, new, partially_filled, held, done_for_day, pending_cancel...: still open. */
export const orderStatus = (venue: string): OrderState['status'] => STATUS[venue] ?? 'open';

function leg(raw: Json): OrderLeg {
  const venueStatus = s(raw['status']) ?? '';
  return {
    kind: raw['type'] === 'limit' ? 'take_profit' : 'stop_loss',
    exchangeOrderId: s(raw['id']) ?? '',
    clientOrderId: s(raw['client_order_id']) ?? '',
    venueStatus,
    status: orderStatus(venueStatus),
    filled: n(raw['filled_qty']) ?? 0,
    average: n(raw['filled_avg_price']),
    price: n(raw['limit_price']),
    stopPrice: n(raw['stop_price']),
  };
}

export function parseOrder(raw: Json): EquityOrderState {
  const venueStatus = s(raw['status']) ?? '';
  const filled = n(raw['filled_qty']) ?? 0;
  return {
    clientOrderId: s(raw['client_order_id']) ?? '',
    exchangeOrderId: s(raw['id']) ?? '',
    status: orderStatus(venueStatus),
    venueStatus,
    symbol: s(raw['symbol']) ?? '',
    side: raw['side'] === 'sell' ? 'sell' : 'buy',
    // A notional order has no qty until it fills.
    amount: n(raw['qty']) ?? filled,
    filled,
    average: n(raw['filled_avg_price']),
    // US equities at Alpaca are commission-free; a commission field, where present, is in USD.
    feeQuote: n(raw['commission']) ?? 0,
    feeBase: 0,
    legs: Array.isArray(raw['legs']) ? (raw['legs'] as Json[]).map(leg) : [],
  };
}

export function parseAccount(raw: Json): EquityAccount {
  const status = s(raw['status']) ?? 'UNKNOWN';
  const tradingBlocked = raw['trading_blocked'] === true;
  const accountBlocked = raw['account_blocked'] === true;
  const tradeSuspendedByUser = raw['trade_suspended_by_user'] === true;
  return {
    status,
    tradingBlocked,
    accountBlocked,
    tradeSuspendedByUser,
    canTrade: status === 'ACTIVE' && !tradingBlocked && !accountBlocked && !tradeSuspendedByUser,
    buyingPower: n(raw['buying_power']) ?? 0,
    cash: n(raw['cash']) ?? 0,
    equity: n(raw['equity']) ?? 0,
    multiplier: n(raw['multiplier']) ?? 1,
    shortingEnabled: raw['shorting_enabled'] === true,
    patternDayTrader: typeof raw['pattern_day_trader'] === 'boolean' ? raw['pattern_day_trader'] : undefined,
    daytradeCount: n(raw['daytrade_count']),
  };
}

const ms = (v: unknown) => {
  const t = Date.parse(s(v) ?? '');
  return Number.isFinite(t) ? t : 0;
};

export const parseClock = (raw: Json): MarketClock => ({
  now: ms(raw['timestamp']),
  isOpen: raw['is_open'] === true,
  nextOpen: ms(raw['next_open']),
  nextClose: ms(raw['next_close']),
});

const hhmm = (v: unknown) => {
  const t = (s(v) ?? '').replace(':', '');
  return t.length === 4 ? `${t.slice(0, 2)}:${t.slice(2)}` : t;
};

export const parseCalendarDay = (raw: Json): CalendarDay => ({
  date: s(raw['date']) ?? '',
  open: hhmm(raw['open']),
  close: hhmm(raw['close']),
  sessionOpen: hhmm(raw['session_open']),
  sessionClose: hhmm(raw['session_close']),
});

export function parseQuote(raw: Json): Quote | undefined {
  const q = (raw['quote'] ?? raw) as Json;
  const bid = n(q['bp']);
  const ask = n(q['ap']);
  if (!bid || !ask) return undefined;
  return { bid, ask, bidSize: n(q['bs']) ?? 0, askSize: n(q['as']) ?? 0, time: ms(q['t']) };
}

export function parseAsset(raw: Json): AssetInfo {
  const attributes = Array.isArray(raw['attributes']) ? (raw['attributes'] as string[]) : [];
  return {
    symbol: s(raw['symbol']) ?? '',
    status: s(raw['status']) ?? '',
    exchange: s(raw['exchange']) ?? '',
    tradable: raw['tradable'] === true,
    fractionable: raw['fractionable'] === true,
    shortable: raw['shortable'] === true,
    easyToBorrow: typeof raw['easy_to_borrow'] === 'boolean' ? raw['easy_to_borrow'] : undefined,
    borrowStatus: s(raw['borrow_status']),
    marginable: raw['marginable'] === true,
    attributes,
    fractionalExtendedHours: attributes.includes('fractional_eh_enabled'),
  };
}

export const parsePosition = (raw: Json): EquityPosition => ({
  symbol: s(raw['symbol']) ?? '',
  qty: n(raw['qty']) ?? 0,
  qtyAvailable: n(raw['qty_available']) ?? n(raw['qty']) ?? 0,
  avgEntryPrice: n(raw['avg_entry_price']) ?? 0,
  marketValue: n(raw['market_value']),
});
