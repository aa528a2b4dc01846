import type { EquitiesConfig } from '../config-equities.js';
import { floorToStep } from './sizing.js';
import type { EquityAsset, OrderLeg, OrderParams } from './types.js';

/**
 * How one US equity order is shaped, per session (Alpaca's rules, docs in /v2/orders):
 *  - regular hours: a GTC bracket (market entry + take-profit + stop-loss) when both levels are known and valid
 *    and the account holds no position in the symbol, else a simple market (or limit) DAY order, whose levels
 *    become a GTC protective exit after it fills (protectAtOpen);
 *  - extended hours: a limit order with extended_hours, DAY or GTC; never market, bracket or stop; protection is
 *    recorded as an intent to place at the regular open;
 *  - prices on Alpaca's ticks ($0.01 at >= $1, $0.0001 below); whole shares unless the asset is fractionable and
 *    the user enabled fractions, and fractional orders are simple DAY orders only.
 * Pure: no IO, no clock.
 */

/** Alpaca's price increment at a price. */
export function equityTick(price: number): number {
  return price >= 1 ? 0.01 : 0.0001;
}

/** Round to the tick in the direction that never crosses the intended bound (down for a buy's stop, etc.). */
export function roundEquityPrice(price: number, mode: 'up' | 'down' | 'nearest'): number {
  const tick = equityTick(price);
  const digits = tick === 0.01 ? 2 : 4;
  const n = price / tick;
  // Tolerate float noise (10.01 / 0.01 = 1000.9999999999999) before rounding in a direction.
  const k = mode === 'up' ? Math.ceil(n - 1e-9) : mode === 'down' ? Math.floor(n + 1e-9) : Math.round(n);
  const p = Number((k * tick).toFixed(digits));
  // Crossing $1 changes the tick: a price rounded up from 0.99995 is 1.0000 = 1.00, still on a tick.
  return p;
}

export function onEquityTick(price: number): boolean {
  const tick = equityTick(price);
  return Math.abs(price / tick - Math.round(price / tick)) < 1e-6;
}

/** Fractional quantity step sent to Alpaca (it accepts up to 9 decimals; 6 keeps float noise out). */
export const FRACTION_STEP = 0.000001;

export interface QtyRule {
  step: number;
  fractional: boolean;
}

/** May this order carry a fractional quantity? Only fractionable assets, simple DAY orders, and extended hours only with the asset's extended-hours flag. */
export function qtyRule(
  cfg: Pick<EquitiesConfig, 'fractional'>,
  asset: EquityAsset,
  shape: {
    session: 'regular' | 'extended';
    orderClass: OrderParams['orderClass'];
    timeInForce: 'day' | 'gtc';
  },
): QtyRule {
  const ok =
    cfg.fractional &&
    asset.fractionable &&
    shape.orderClass === 'simple' &&
    shape.timeInForce === 'day' &&
    (shape.session === 'regular' || asset.fractionalExtendedHours === true);
  return ok ? { step: FRACTION_STEP, fractional: true } : { step: 1, fractional: false };
}

export interface EntryPlanInput {
  symbol: string;
  side: 'buy' | 'sell';
  session: 'regular' | 'extended';
  /** Reference price (latest trade/quote, else the signal price). */
  refPrice: number;
  /** Most this order may be worth (every cap and the buying power folded in), USD. */
  maxQuote: number;
  /** Value the sizing asks for (<= maxQuote). */
  wantQuote: number;
  asset: EquityAsset;
  stopLoss?: number | undefined;
  takeProfit?: number | undefined;
  /**
   * A position in the symbol exists in the account (this client's or not). Alpaca takes a bracket only from
   * flat ("bracket orders must be entry orders"), so adding to a position is a simple order whose stop/target
   * is placed as a separate protective exit once it fills (protectAtOpen: the next look in a regular session).
   */
  held?: boolean | undefined;
}

export type PlanResult = { ok: true; leg: OrderLeg } | { ok: false; detail: string };

/** Valid bracket levels for a buy at `base`: take-profit >= base + 0.01, stop <= base - 0.01 (Alpaca). */
function bracketLevels(
  base: number,
  sl: number | undefined,
  tp: number | undefined,
): { stopLoss: number; takeProfit: number } | undefined {
  if (sl === undefined || tp === undefined) return undefined;
  const stopLoss = roundEquityPrice(sl, 'down');
  const takeProfit = roundEquityPrice(tp, 'up');
  if (!(stopLoss > 0) || stopLoss > base - 0.01 || takeProfit < base + 0.01) return undefined;
  return { stopLoss, takeProfit };
}

/** Plan one entry order. Quantity is truncated to the allowed step, so its value never exceeds maxQuote. */
export function planEntry(cfg: EquitiesConfig, p: EntryPlanInput): PlanResult {
  const buy = p.side === 'buy';
  if (p.session === 'extended') {
    const slip = cfg.limit_slippage_pct / 100;
    const limit = roundEquityPrice(p.refPrice * (buy ? 1 + slip : 1 - slip), buy ? 'down' : 'up');
    const params: OrderParams = {
      timeInForce: cfg.extended_time_in_force,
      extendedHours: true,
      orderClass: 'simple',
      protectAtOpen: buy && (p.stopLoss !== undefined || p.takeProfit !== undefined) ? true : undefined,
    };
    const rule = qtyRule(cfg, p.asset, {
      session: 'extended',
      orderClass: 'simple',
      timeInForce: params.timeInForce,
    });
    if (cfg.max_reprices === 0) return leg(p, 'limit', limit, rule, params);
    // A working order (equities.max_reprices): it starts at the signal price and is replaced toward the quote up
    // to that limit (working-orders.ts), so it is sized at the limit it may reach, never above maxQuote.
    const sized = leg(p, 'limit', limit, rule, params);
    if (!sized.ok) return sized;
    const start = roundEquityPrice(p.refPrice, buy ? 'down' : 'up');
    return { ok: true, leg: { ...sized.leg, limitPrice: start } };
  }
  const limit = cfg.regular_order_type === 'limit';
  const price = limit
    ? roundEquityPrice(p.refPrice * (buy ? 1 + cfg.limit_slippage_pct / 100 : 1), buy ? 'down' : 'up')
    : p.refPrice;
  // Brackets only for long market entries from flat: a short's levels are the other way round and are not
  // planned here. A bracket's legs share its time in force and a DAY bracket's stop expires at the close, so
  // brackets are GTC: a market entry fills at once and its legs then protect the shares until they are sold.
  // A limit entry is not made GTC (an unfilled one would buy on a later day, decided under today's limits):
  // it is a simple DAY limit whose stop/target are placed as a GTC exit once it fills, like an addition.
  const bracket = buy && !p.held && !limit;
  const levels = bracket ? bracketLevels(price, p.stopLoss, p.takeProfit) : undefined;
  const protectLater =
    buy && !levels && (p.held || limit) && (p.stopLoss !== undefined || p.takeProfit !== undefined);
  const params: OrderParams = levels
    ? { timeInForce: 'gtc', extendedHours: false, orderClass: 'bracket', ...levels }
    : {
        timeInForce: 'day',
        extendedHours: false,
        orderClass: 'simple',
        protectAtOpen: protectLater ? true : undefined,
      };
  const rule = qtyRule(cfg, p.asset, {
    session: 'regular',
    orderClass: params.orderClass,
    timeInForce: params.timeInForce,
  });
  return leg(p, limit ? 'limit' : 'market', price, rule, params);
}

function leg(
  p: EntryPlanInput,
  type: 'market' | 'limit',
  price: number,
  rule: QtyRule,
  params: OrderParams,
): PlanResult {
  if (!(price > 0)) return { ok: false, detail: `no usable price (${price})` };
  // A market buy fills above the reference now and then: size it at the price plus the same cushion as limits.
  const valuePrice = type === 'market' ? price * 1.01 : price;
  const amount = floorToStep(Math.min(p.wantQuote, p.maxQuote) / valuePrice, rule.step);
  if (!(amount > 0)) {
    return {
      ok: false,
      detail: `${Math.min(p.wantQuote, p.maxQuote).toFixed(2)} USD buys no ${rule.fractional ? 'fraction' : 'whole share'} at ${price}`,
    };
  }
  return {
    ok: true,
    leg: {
      leg: 'entry',
      market: p.symbol,
      side: p.side,
      type,
      amount,
      refPrice: p.refPrice,
      limitPrice: type === 'limit' ? price : undefined,
      quote: amount * valuePrice,
      stopLoss: p.stopLoss,
      takeProfit: p.takeProfit,
      params,
    },
  };
}

/**
 * Plan the exit of what this client holds: a sell of at most `held` (never more, never a buy), in the session's
 * style. Its protective orders are cancelled first (params.cancelProtectiveFirst), or the broker would refuse
 * the sell for shares held by the open legs.
 */
export function planExit(
  cfg: EquitiesConfig,
  p: { symbol: string; session: 'regular' | 'extended'; refPrice: number; held: number; asset: EquityAsset },
): PlanResult {
  const extended = p.session === 'extended';
  const timeInForce = extended ? cfg.extended_time_in_force : 'day';
  const rule = qtyRule({ fractional: true }, p.asset, {
    session: p.session,
    orderClass: 'simple',
    timeInForce,
  });
  // A fractional holding that cannot be sold as a fraction now: sell the whole shares, keep the rest.
  const amount = floorToStep(p.held, rule.step);
  if (!(amount > 0)) return { ok: false, detail: `holding ${p.held} cannot be sold in this session` };
  const limit = extended
    ? roundEquityPrice(p.refPrice * (1 - cfg.limit_slippage_pct / 100), 'up')
    : undefined;
  return {
    ok: true,
    leg: {
      leg: 'exit',
      market: p.symbol,
      side: 'sell',
      type: extended ? 'limit' : 'market',
      amount,
      refPrice: p.refPrice,
      limitPrice: limit,
      quote: amount * (limit ?? p.refPrice),
      params: { timeInForce, extendedHours: extended, orderClass: 'simple', cancelProtectiveFirst: true },
    },
  };
}
