import { createHash } from 'node:crypto';
import type { Book } from './book.js';
import type { EmuAsset, EmuOrder, EmuPosition, EmuQuote } from './types.js';

/** Wire shapes of Alpaca's trading and data APIs (numbers as strings where Alpaca sends strings). */

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const num = (x: number | undefined) => (x === undefined ? null : String(Math.round(x * 1e9) / 1e9));
/** Stable uuid-shaped asset id from the symbol. */
export const assetId = (symbol: string) => {
  const h = createHash('sha256').update(symbol).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export function orderJson(o: EmuOrder, withLegs: boolean): Record<string, unknown> {
  return {
    id: o.id,
    client_order_id: o.client_order_id,
    created_at: iso(o.created_at),
    updated_at: iso(o.filled_at ?? o.canceled_at ?? o.expired_at ?? o.created_at),
    submitted_at: iso(o.created_at),
    filled_at: iso(o.filled_at),
    expired_at: iso(o.expired_at),
    canceled_at: iso(o.canceled_at),
    failed_at: null,
    replaced_at: iso(o.replaced_at),
    replaced_by: o.replaced_by ?? null,
    replaces: o.replaces ?? null,
    asset_id: assetId(o.symbol),
    symbol: o.symbol,
    asset_class: 'us_equity',
    notional: num(o.notional),
    qty: num(o.qty),
    filled_qty: num(o.filled_qty),
    filled_avg_price: num(o.filled_avg_price),
    order_class: o.order_class,
    order_type: o.type,
    type: o.type,
    side: o.side,
    position_intent: o.side === 'buy' ? 'buy_to_open' : 'sell_to_close',
    time_in_force: o.time_in_force,
    limit_price: num(o.limit_price),
    stop_price: num(o.stop_price),
    status: o.status,
    extended_hours: o.extended_hours,
    legs: withLegs && o.legs.length ? o.legs.map((l) => orderJson(l, false)) : null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    subtag: null,
    source: null,
    expires_at: iso(o.expires_at),
  };
}

export function assetJson(a: EmuAsset): Record<string, unknown> {
  return {
    id: assetId(a.symbol),
    class: 'us_equity',
    exchange: a.exchange,
    symbol: a.symbol,
    name: a.name ?? `${a.symbol} Inc. Common Stock`,
    status: a.status,
    tradable: a.tradable,
    marginable: a.marginable,
    maintenance_margin_requirement: 30,
    margin_requirement_long: '30',
    margin_requirement_short: '100',
    shortable: a.shortable,
    easy_to_borrow: a.easy_to_borrow,
    fractionable: a.fractionable,
    attributes: a.attributes,
  };
}

export function positionJson(p: EmuPosition, book: Book): Record<string, unknown> {
  const q = book.quote(p.symbol)!;
  const value = p.qty * q.last;
  const cost = p.qty * p.avg_entry_price;
  return {
    asset_id: assetId(p.symbol),
    symbol: p.symbol,
    exchange: book.assets.get(p.symbol)?.exchange ?? 'NASDAQ',
    asset_class: 'us_equity',
    asset_marginable: book.assets.get(p.symbol)?.marginable ?? false,
    avg_entry_price: num(p.avg_entry_price),
    qty: num(p.qty),
    qty_available: num(book.qtyAvailable(p.symbol)),
    side: p.qty >= 0 ? 'long' : 'short',
    market_value: value.toFixed(2),
    cost_basis: cost.toFixed(2),
    unrealized_pl: (value - cost).toFixed(2),
    unrealized_plpc: cost ? ((value - cost) / cost).toFixed(4) : '0',
    unrealized_intraday_pl: (value - cost).toFixed(2),
    unrealized_intraday_plpc: cost ? ((value - cost) / cost).toFixed(4) : '0',
    current_price: num(q.last),
    lastday_price: num(q.last),
    change_today: '0',
  };
}

/** GET /v2/account after Alpaca removed the PDT fields (2026-07-06); a test may put them back. */
export function accountJson(book: Book): Record<string, unknown> {
  const a = book.account;
  let long = 0;
  let short = 0;
  for (const p of book.positions.values()) {
    const v = p.qty * book.quote(p.symbol)!.last;
    if (v >= 0) long += v;
    else short += v;
  }
  const equity = a.cash + long + short;
  return {
    id: 'e6fe16f3-64a4-4921-8928-cadf02f92f98',
    account_number: 'PA3EMULATOR',
    status: a.status,
    crypto_status: 'INACTIVE',
    currency: 'USD',
    cash: a.cash.toFixed(2),
    buying_power: book.buyingPower().toFixed(2),
    regt_buying_power: book.buyingPower().toFixed(2),
    non_marginable_buying_power: Math.max(0, a.cash - book.reserved()).toFixed(2),
    equity: equity.toFixed(2),
    last_equity: equity.toFixed(2),
    portfolio_value: equity.toFixed(2),
    long_market_value: long.toFixed(2),
    short_market_value: short.toFixed(2),
    initial_margin: '0',
    maintenance_margin: '0',
    sma: '0',
    multiplier: String(a.multiplier),
    shorting_enabled: a.shorting_enabled,
    trading_blocked: a.trading_blocked,
    transfers_blocked: false,
    account_blocked: a.account_blocked,
    trade_suspended_by_user: a.trade_suspended_by_user,
    created_at: '2026-01-05T15:00:00Z',
    ...(a.pattern_day_trader !== undefined ? { pattern_day_trader: a.pattern_day_trader } : {}),
    ...(a.daytrade_count !== undefined ? { daytrade_count: a.daytrade_count } : {}),
  };
}

export function quoteJson(q: EmuQuote, now: number) {
  return {
    t: new Date(now).toISOString(),
    ax: 'V',
    ap: q.ask,
    as: 1,
    bx: 'V',
    bp: q.bid,
    bs: 1,
    c: ['R'],
    z: 'C',
  };
}

export function snapshotJson(q: EmuQuote, now: number) {
  const t = new Date(now).toISOString();
  const bar = { t, o: q.last, h: q.last, l: q.last, c: q.last, v: 1000, n: 10, vw: q.last };
  return {
    latestTrade: { t, x: 'V', p: q.last, s: 100, c: ['@'], i: 1, z: 'C' },
    latestQuote: quoteJson(q, now),
    minuteBar: bar,
    dailyBar: bar,
    prevDailyBar: bar,
  };
}
