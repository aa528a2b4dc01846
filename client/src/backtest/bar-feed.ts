import { MINUTE_MS, type Bar, type MarketData } from '@catalyst-signal/shared/market-data';
import type { PriceStep, RestingOrder } from '../paper/fill-rules.js';
import type { PriceSource } from '../paper/prices.js';

/**
 * The backtest's prices: 1-minute bars through the shared market-data seam (the caller hands it the cached
 * source, so nothing is fetched twice), loaded lazily one UTC day per symbol, and served to the paper broker as
 * price steps. A bar "ends" at its last millisecond (t + 1 min - 1): the session and DAY expiry the fill rules
 * see are the bar's own, not the next minute's.
 */

const DAY_MS = 86_400_000;

export const barEnd = (b: Pick<Bar, 't'>) => b.t + MINUTE_MS - 1;

/** The index of the first bar with t >= from (bars sorted by t). */
function lowerBound(bars: readonly Bar[], from: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid]!.t < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class BarFeed {
  private readonly days = new Map<string, Map<number, Bar[]>>();
  /** Symbol-days fetched (a progress figure; a warm cache answers them from SQLite). */
  loaded = 0;

  constructor(
    private readonly market: MarketData,
    /** Nothing at or after this instant is asked for (the window's end). */
    private readonly end: number,
  ) {}

  private async day(symbol: string, start: number): Promise<Bar[]> {
    let m = this.days.get(symbol);
    if (!m) this.days.set(symbol, (m = new Map()));
    const have = m.get(start);
    if (have) return have;
    const to = Math.min(start + DAY_MS, this.end);
    const bars = to > start ? ((await this.market.getBars([symbol], start, to)).get(symbol) ?? []) : [];
    m.set(start, bars);
    this.loaded++;
    return bars;
  }

  /** Forget days before `t` (memory stays bounded over a year). */
  forget(symbol: string, t: number): void {
    const m = this.days.get(symbol);
    if (!m) return;
    for (const k of m.keys()) if (k + DAY_MS <= t) m.delete(k);
  }

  /** The first bar with t >= from, looking no further than `until` (exclusive), or undefined. */
  async first(
    symbol: string,
    from: number,
    until: number,
    pred: (b: Bar) => boolean = () => true,
  ): Promise<Bar | undefined> {
    const stop = Math.min(until, this.end);
    for (let d = Math.floor(from / DAY_MS) * DAY_MS; d < stop; d += DAY_MS) {
      const bars = await this.day(symbol, d);
      for (let i = lowerBound(bars, from); i < bars.length; i++) {
        const b = bars[i]!;
        if (b.t >= stop) return undefined;
        if (pred(b)) return b;
      }
    }
    return undefined;
  }

  /** The last bar with from <= t < before, or undefined. */
  async last(symbol: string, from: number, before: number): Promise<Bar | undefined> {
    for (let d = Math.floor((before - 1) / DAY_MS) * DAY_MS; d + DAY_MS > from; d -= DAY_MS) {
      const bars = await this.day(symbol, d);
      for (let i = bars.length - 1; i >= 0; i--) {
        const b = bars[i]!;
        if (b.t < before && b.t >= from) return b;
      }
    }
    return undefined;
  }

  /** Bars with from <= t, ending by `by` (barEnd(b) <= by), oldest first. */
  async ended(symbol: string, from: number, by: number): Promise<Bar[]> {
    const out: Bar[] = [];
    for (let d = Math.floor(from / DAY_MS) * DAY_MS; d <= by && d < this.end; d += DAY_MS) {
      const bars = await this.day(symbol, d);
      for (let i = lowerBound(bars, from); i < bars.length && barEnd(bars[i]!) <= by; i++) out.push(bars[i]!);
    }
    return out;
  }
}

/** Could this bar change any of these resting orders (fill, trigger or expire them)? */
export function touches(parts: readonly RestingOrder[], b: Bar): boolean {
  for (const o of parts) {
    if (o.state === 'held') continue; // moves only when its entry fills, which is its entry's touch
    if (o.expiresAt !== undefined && barEnd(b) >= o.expiresAt) return true;
    if (o.type === 'market') return true;
    const level = o.type === 'limit' || o.state === 'triggered' ? o.limit! : o.stop!;
    const buyLimitLike = (o.type === 'limit' || o.state === 'triggered') === (o.side === 'buy');
    // A buy limit (or sell stop) is reached from above, a sell limit (or buy stop) from below.
    if (buyLimitLike ? b.l <= level : b.h >= level) return true;
  }
  return false;
}

/**
 * The paper broker's price source over bars. A look at `t` returns the bars of the symbol that ended by `t` and
 * were not used yet, as one step; with none, while orders are being placed (`placing`), the symbol gets a flat step at the open of
 * its first bar at or after `t`: a follower's order meets the first trade after the signal, never one before.
 */
export class BarPrices implements PriceSource {
  private readonly consumed = new Map<string, number>();
  /** The latest close seen of each symbol: positions are marked at it. */
  readonly lastClose = new Map<string, number>();
  /** True while orders are being placed (a signal, the open's work): see next(). */
  placing = false;

  constructor(private readonly feed: BarFeed) {}

  /** Bars starting before `t` will never be stepped (nothing rested in the symbol, or they touched nothing). */
  skipTo(symbol: string, t: number): void {
    if ((this.consumed.get(symbol) ?? -Infinity) < t) this.consumed.set(symbol, t);
  }

  from(symbol: string): number {
    return this.consumed.get(symbol) ?? -Infinity;
  }

  async next(symbols: readonly { symbol: string }[], t: number): Promise<Map<string, PriceStep>> {
    const out = new Map<string, PriceStep>();
    for (const { symbol } of symbols) {
      const from = this.consumed.get(symbol) ?? t;
      const bars = await this.feed.ended(symbol, from, t);
      if (bars.length) {
        let h = -Infinity;
        let l = Infinity;
        for (const b of bars) {
          h = Math.max(h, b.h);
          l = Math.min(l, b.l);
        }
        const last = bars[bars.length - 1]!;
        out.set(symbol, { t, o: bars[0]!.o, h, l, c: last.c });
        this.consumed.set(symbol, last.t + MINUTE_MS);
        this.lastClose.set(symbol, last.c);
        continue;
      }
      if (!this.placing) continue;
      const b = await this.feed.first(symbol, Math.max(from, t), Infinity);
      if (b) out.set(symbol, { t, o: b.o, h: b.o, l: b.o, c: b.o });
    }
    return out;
  }
}
