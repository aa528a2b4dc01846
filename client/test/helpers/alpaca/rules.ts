import type { EmuAsset, EmuOrder } from './types.js';
import { AlpacaReply, unprocessable } from './types.js';

/**
 * Alpaca's order-shape rules that need no account state: fields, ticks, extended-hours and fractional rules.
 * Messages are the ones Alpaca answers (see shared notes/ccxt-alpaca.md); codes as Alpaca sends them.
 */

const TYPES = new Set(['market', 'limit', 'stop', 'stop_limit']);
const TIFS = new Set(['day', 'gtc', 'opg', 'cls', 'ioc', 'fok']);
const CLASSES = new Set(['', 'simple', 'bracket', 'oco', 'oto']);

export const bad = (message: string) => new AlpacaReply(422, { code: 40010001, message });

/** Decimal places a price string carries (trailing zeros ignored). */
function decimals(s: string): number {
  const [, frac = ''] = s.split('.');
  return frac.replace(/0+$/, '').length;
}

/** >= $1: whole cents; < $1: at most four decimals. */
export function checkTick(field: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const s = String(raw);
  const v = Number(s);
  if (!Number.isFinite(v) || v <= 0) throw bad(`invalid ${field}`);
  if (decimals(s) > (v >= 1 ? 2 : 4)) {
    throw unprocessable(
      `invalid ${field} ${s}. sub-penny increment does not fulfill minimum pricing criteria`,
    );
  }
  return v;
}

function positiveNumber(field: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw bad(`invalid ${field}`);
  return v;
}

export interface Shape {
  symbol: string;
  side: 'buy' | 'sell';
  type: EmuOrder['type'];
  tif: EmuOrder['time_in_force'];
  orderClass: EmuOrder['order_class'];
  qty: number | undefined;
  notional: number | undefined;
  limit: number | undefined;
  stop: number | undefined;
  extended: boolean;
  clientOrderId: string | undefined;
  takeProfit: number | undefined;
  stopLoss: { stop: number; limit: number | undefined } | undefined;
  fractional: boolean;
}

/** Parse and check a POST /v2/orders body against the rules that do not depend on the account. */
export function checkShape(body: Record<string, unknown>): Shape {
  const symbol = String(body['symbol'] ?? '').toUpperCase();
  if (!symbol) throw bad('symbol is required');
  const side = body['side'];
  if (side !== 'buy' && side !== 'sell') throw bad('invalid side');
  const type = String(body['type'] ?? '');
  if (!TYPES.has(type)) throw bad(`invalid order type`);
  const tif = String(body['time_in_force'] ?? '');
  if (!TIFS.has(tif)) throw bad('invalid time_in_force');
  const orderClass = String(body['order_class'] ?? '');
  if (!CLASSES.has(orderClass)) throw bad('invalid order_class');
  const cid = body['client_order_id'] === undefined ? undefined : String(body['client_order_id']);
  if (cid !== undefined && (cid.length === 0 || cid.length > 128))
    throw bad('client_order_id must be no more than 128 characters');

  const qty = positiveNumber('qty', body['qty']);
  const notional = positiveNumber('notional', body['notional']);
  if (qty !== undefined && notional !== undefined)
    throw new AlpacaReply(400, { code: 40010001, message: 'qty and notional are mutually exclusive' });
  if (qty === undefined && notional === undefined) throw bad('qty or notional is required');

  const limit = checkTick('limit_price', body['limit_price']);
  const stop = checkTick('stop_price', body['stop_price']);
  if (type === 'market' && (limit !== undefined || stop !== undefined))
    throw unprocessable('market orders must not have limit_price or stop_price');
  if ((type === 'limit' || type === 'stop_limit') && limit === undefined)
    throw unprocessable('limit_price is required');
  if ((type === 'stop' || type === 'stop_limit') && stop === undefined)
    throw unprocessable('stop_price is required');

  const extended = body['extended_hours'] === true || body['extended_hours'] === 'true';
  const multi = orderClass === 'bracket' || orderClass === 'oco' || orderClass === 'oto';
  if (extended && (type !== 'limit' || (tif !== 'day' && tif !== 'gtc')))
    throw unprocessable('extended hours order must be DAY or GTC limit orders');
  if (extended && multi) throw unprocessable('extended hours orders must be simple orders');

  const fractional = notional !== undefined || (qty !== undefined && !Number.isInteger(qty));
  if (fractional && tif !== 'day') throw unprocessable('fractional orders must be DAY orders', 40010001);
  if (fractional && multi) throw unprocessable('fractional orders must be simple orders', 40010001);
  if (notional !== undefined && type !== 'market')
    throw unprocessable('notional orders must be market orders', 40010001);

  let takeProfit: number | undefined;
  let stopLoss: Shape['stopLoss'];
  if (orderClass === 'bracket') {
    if (type !== 'market' && type !== 'limit') throw bad('bracket orders must be market or limit orders');
    if (tif !== 'day' && tif !== 'gtc') throw unprocessable('bracket orders must be DAY or GTC orders');
    const tp = (body['take_profit'] ?? {}) as Record<string, unknown>;
    const sl = (body['stop_loss'] ?? {}) as Record<string, unknown>;
    takeProfit = checkTick('take_profit.limit_price', tp['limit_price']);
    if (takeProfit === undefined) throw unprocessable('bracket orders require take_profit.limit_price');
    const slStop = checkTick('stop_loss.stop_price', sl['stop_price']);
    if (slStop === undefined) throw unprocessable('bracket orders require stop_loss.stop_price');
    stopLoss = { stop: slStop, limit: checkTick('stop_loss.limit_price', sl['limit_price']) };
  } else if (orderClass === 'oco') {
    // An exit pair for shares held: the parent is the take-profit limit, the stop loss its one leg.
    if (type !== 'limit') throw unprocessable('oco orders must be limit orders');
    if (tif !== 'day' && tif !== 'gtc') throw unprocessable('oco orders must be DAY or GTC orders');
    const tp = (body['take_profit'] ?? {}) as Record<string, unknown>;
    const sl = (body['stop_loss'] ?? {}) as Record<string, unknown>;
    takeProfit = checkTick('take_profit.limit_price', tp['limit_price']);
    if (takeProfit === undefined) throw unprocessable('oco orders require take_profit.limit_price');
    const slStop = checkTick('stop_loss.stop_price', sl['stop_price']);
    if (slStop === undefined) throw unprocessable('oco orders require stop_loss.stop_price');
    stopLoss = { stop: slStop, limit: checkTick('stop_loss.limit_price', sl['limit_price']) };
  } else if (multi) {
    throw unprocessable(`order_class ${orderClass} is not supported by this emulator`);
  }
  return {
    symbol,
    side,
    type: type as Shape['type'],
    tif: tif as Shape['tif'],
    orderClass: orderClass as Shape['orderClass'],
    qty,
    notional,
    limit,
    stop,
    extended,
    clientOrderId: cid,
    takeProfit,
    stopLoss,
    fractional,
  };
}

/** Bracket legs must sit at least a cent beyond the entry's base price (limit, or the market for market entries). */
export function checkBracketPrices(s: Shape, base: number): void {
  if (!s.takeProfit || !s.stopLoss) return;
  const cents = (x: number) => Math.round(x * 100);
  const b = cents(base);
  if (s.side === 'buy') {
    if (cents(s.takeProfit) < b + 1)
      throw unprocessable(
        `take_profit.limit_price must be >= base_price + 0.01 (base_price: ${base}, take_profit: ${s.takeProfit})`,
      );
    if (cents(s.stopLoss.stop) > b - 1)
      throw unprocessable(
        `stop_loss.stop_price must be <= base_price - 0.01 (base_price: ${base}, stop_price: ${s.stopLoss.stop})`,
      );
  } else {
    if (cents(s.takeProfit) > b - 1)
      throw unprocessable(`take_profit.limit_price must be <= base_price - 0.01`);
    if (cents(s.stopLoss.stop) < b + 1)
      throw unprocessable(`stop_loss.stop_price must be >= base_price + 0.01`);
  }
}

export function checkAsset(a: EmuAsset | undefined, s: Shape): EmuAsset {
  if (!a || a.status !== 'active') throw unprocessable(`asset "${s.symbol}" not found`);
  if (!a.tradable) throw unprocessable(`asset ${s.symbol} is not tradable`);
  return a;
}
