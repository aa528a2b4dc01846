import type { MarketData } from '@catalyst-signal/shared/market-data';
import type { PriceStep } from './fill-rules.js';

/**
 * Where paper mode's prices come from between signals (paper.prices), one step per symbol per look:
 *  - signal: the price of the latest signal in the symbol, unchanging (what paper did before it had a source);
 *  - walk: a seeded random walk around the latest signal's price (offline demos: resting limits, stops and
 *    targets really get crossed, and the same seed gives the same path);
 *  - alpaca: the broker's latest quotes through the shared market-data seam (your own data keys): a buy meets
 *    the ask, a sell the bid.
 */
export interface PriceSource {
  /** The step of each symbol from the previous look up to market time `t`; a symbol without a price is absent. */
  next(symbols: readonly { symbol: string; anchor: number }[], t: number): Promise<Map<string, PriceStep>>;
}

/** One price for the whole step: the anchor (the latest signal's price). */
export function signalPrices(): PriceSource {
  return {
    next: async (symbols, t) =>
      new Map(
        symbols.map(({ symbol, anchor }) => [symbol, { t, o: anchor, h: anchor, l: anchor, c: anchor }]),
      ),
  };
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)); enough for a demo's price path. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a of a string: each symbol's walk gets its own seed, so adding a symbol does not change another's path. */
export function hashSeed(seed: number, symbol: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface WalkOptions {
  seed: number;
  /** Standard deviation of the log price per market minute, percent. */
  volatilityPctPerMin: number;
  /** Pull back toward the anchor per market minute (0..1): keeps the walk "around" the signal's price. */
  reversionPerMin: number;
  /** Sub-steps per minute of market time in one step: a bar's high and low come from them. */
  pointsPerMin?: number | undefined;
}

interface WalkState {
  price: number;
  t: number;
  anchor: number;
  rand: () => number;
}

/** One walk move over `minutes` of market time: mean-reverting in log price, Gaussian shocks (Box-Muller). */
export function walkMove(
  price: number,
  anchor: number,
  minutes: number,
  o: Pick<WalkOptions, 'volatilityPctPerMin' | 'reversionPerMin'>,
  rand: () => number,
): number {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const pull = Math.min(1, o.reversionPerMin * minutes) * Math.log(anchor / price);
  const shock = (o.volatilityPctPerMin / 100) * Math.sqrt(minutes) * z;
  return price * Math.exp(pull + shock);
}

/** A seeded random walk per symbol, starting at (and pulled toward) the latest signal's price. */
export function walkPrices(o: WalkOptions): PriceSource {
  const states = new Map<string, WalkState>();
  const perMin = o.pointsPerMin ?? 4;
  return {
    async next(symbols, t) {
      const out = new Map<string, PriceStep>();
      for (const { symbol, anchor } of symbols) {
        let s = states.get(symbol);
        if (!s) {
          s = { price: anchor, t, anchor, rand: mulberry32(hashSeed(o.seed, symbol)) };
          states.set(symbol, s);
          out.set(symbol, { t, o: anchor, h: anchor, l: anchor, c: anchor });
          continue;
        }
        // A new signal in the symbol moves the anchor: the walk drifts toward it, it does not jump.
        s.anchor = anchor;
        const minutes = Math.max(0, t - s.t) / 60_000;
        // Whole sub-steps (at most a day's worth): a bar's high and low are the walk's own extremes.
        const n = Math.max(1, Math.min(24 * 60 * perMin, Math.ceil(minutes * perMin)));
        const open = s.price;
        let h = open;
        let l = open;
        let p = open;
        for (let i = 0; i < n; i++) {
          p = walkMove(p, s.anchor, minutes / n, o, s.rand);
          h = Math.max(h, p);
          l = Math.min(l, p);
        }
        s.price = p;
        s.t = t;
        out.set(symbol, { t, o: open, h, l, c: p });
      }
      return out;
    },
  };
}

/** The broker's latest quotes (shared market-data seam): buys meet the ask, sells the bid. */
export function quotePrices(data: Pick<MarketData, 'getLatestQuotes'>): PriceSource {
  return {
    async next(symbols, t) {
      const out = new Map<string, PriceStep>();
      if (!symbols.length) return out;
      const quotes = await data.getLatestQuotes(symbols.map((s) => s.symbol));
      for (const [symbol, q] of quotes) {
        if (!(q.bid > 0 && q.ask > 0)) continue;
        const mid = (q.bid + q.ask) / 2;
        out.set(symbol, { t, o: mid, h: mid, l: mid, c: mid, bid: q.bid, ask: q.ask });
      }
      return out;
    },
  };
}
