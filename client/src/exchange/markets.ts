import type { ExchangeConfig } from '../config.js';
import type { MarketInfo } from '../decide/index.js';

/**
 * Market rules assumed when the real ones are unavailable (offline paper mode), per venue: crypto spot splits a
 * "BASE/QUOTE" pair and uses exchange.market_defaults; a US equity is its ticker, priced in USD, traded in whole
 * shares (not fractionable, not shortable: the cautious values until the broker says otherwise).
 */
export function defaultMarket(symbol: string, x: ExchangeConfig): MarketInfo | undefined {
  if (x.venue === 'us_equity') {
    if (!/^[A-Z][A-Z0-9.]{0,9}$/.test(symbol)) return undefined;
    return {
      symbol,
      base: symbol,
      quote: 'USD',
      venue: 'us_equity',
      amountStep: 1,
      // Alpaca's tick depends on the price ($0.01 at >= $1, $0.0001 below): the equity rules round per price.
      priceStep: 0.0001,
      minAmount: 1,
      minCost: 0,
      equity: { tradable: true, fractionable: false, shortable: false },
      assumed: true,
    };
  }
  const d = x.market_defaults;
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
