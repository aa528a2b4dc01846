import { z } from 'zod';

/**
 * The market-data seam: one interface for historical 1-minute bars and latest quotes, used by the server's
 * outcome worker and the client's backtest and paper prices. Times are epoch milliseconds; ranges are
 * half-open [start, end).
 */

/** One 1-minute bar. `t` is the minute's start. */
export interface Bar {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  /** Number of trades and volume-weighted price, when the source gives them. */
  n?: number | undefined;
  vw?: number | undefined;
}

export interface Quote {
  t: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
}

/** Every requested symbol is a key; a symbol with no trade in the range has an empty array, never zeros. */
export type BarsBySymbol = Map<string, Bar[]>;

export interface MarketData {
  getBars(symbols: readonly string[], start: number, end: number): Promise<BarsBySymbol>;
  getLatestQuotes(symbols: readonly string[]): Promise<Map<string, Quote>>;
}

export const MINUTE_MS = 60_000;

// Alpaca's wire shapes (docs.alpaca.markets, market data v2). Prices must be finite and positive: a zero price
// is a broken bar, not a data point.
const price = z.number().positive().finite();
export const AlpacaBarSchema = z.object({
  t: z.string().datetime({ offset: true }),
  o: price,
  h: price,
  l: price,
  c: price,
  v: z.number().nonnegative(),
  n: z.number().nonnegative().optional(),
  vw: z.number().nonnegative().optional(),
});
export type AlpacaBar = z.infer<typeof AlpacaBarSchema>;

const pageToken = z.string().max(1000).nullish();
/** GET /v2/stocks/bars: bars by symbol (a symbol without bars may be absent, and `bars` may be null). */
export const AlpacaMultiBarsSchema = z.object({
  bars: z.record(z.string(), z.array(AlpacaBarSchema).nullable()).nullable(),
  next_page_token: pageToken,
});
/** GET /v2/stocks/{symbol}/bars. */
export const AlpacaSymbolBarsSchema = z.object({
  symbol: z.string(),
  bars: z.array(AlpacaBarSchema).nullable(),
  next_page_token: pageToken,
});
export const AlpacaQuoteSchema = z.object({
  t: z.string().datetime({ offset: true }),
  ap: z.number().nonnegative(),
  as: z.number().nonnegative(),
  bp: z.number().nonnegative(),
  bs: z.number().nonnegative(),
});
/** GET /v2/stocks/quotes/latest. */
export const AlpacaLatestQuotesSchema = z.object({ quotes: z.record(z.string(), AlpacaQuoteSchema) });

export function barFromAlpaca(b: AlpacaBar): Bar {
  return { t: Date.parse(b.t), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, n: b.n, vw: b.vw };
}
