import type { Config } from '../config.js';
import type { MarketInfo } from '../decide/index.js';

/** Market rules assumed when the real ones are unavailable (offline paper mode). */
export function defaultMarket(
  symbol: string,
  d: Config['exchange']['market_defaults'],
): MarketInfo | undefined {
  const [base, quote] = symbol.split('/');
  if (!base || !quote) return undefined;
  return {
    symbol,
    base,
    quote,
    amountStep: d.amount_step,
    priceStep: d.price_step,
    minAmount: d.min_amount,
    minCost: d.min_cost,
    assumed: true,
  };
}

/** Step from a ccxt precision value: TICK_SIZE mode gives the step itself, DECIMAL_PLACES gives a digit count. */
export function stepFrom(precision: number | undefined, tickSizeMode: boolean, fallback: number): number {
  if (precision === undefined || precision === null || !Number.isFinite(precision)) return fallback;
  return tickSizeMode ? precision : Math.pow(10, -precision);
}
