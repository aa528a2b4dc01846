import { MINUTE_MS, type Bar, type BarsBySymbol, type MarketData, type Quote } from './bars.js';
import { SIP_DELAY_MS } from './alpaca-data.js';
import { missingRanges, type Range } from './ranges.js';

/**
 * Where a bar cache keeps its rows (SQLite on each side). `covered` ranges are stored with the bars: inside a
 * covered range a minute without a bar is known to have had no trade (a halt, no liquidity), so it is not
 * fetched again.
 */
export interface BarStore {
  covered(symbol: string, start: number, end: number): Range[];
  read(symbol: string, start: number, end: number): Bar[];
  /** One transaction: the bars of [start, end) and the fact that this range is now covered. */
  write(symbol: string, start: number, end: number, bars: readonly Bar[]): void;
}

/**
 * The cache policy in front of a market-data source: nothing closed is fetched twice. Only ranges that ended at
 * least 15 minutes ago (SIP, final) are stored; more recent minutes (IEX, or the minute still open) are fetched
 * each time and never cached, so a later call gets the consolidated bars.
 */
export class CachedMarketData implements MarketData {
  private readonly now: () => number;

  constructor(
    private readonly source: MarketData,
    private readonly store: BarStore,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  async getBars(symbols: readonly string[], start: number, end: number): Promise<BarsBySymbol> {
    const out: BarsBySymbol = new Map(symbols.map((s) => [s, []]));
    if (end <= start) return out;
    // Whole minutes only, so a covered range never ends inside a minute's bar.
    const closedEnd = Math.max(start, Math.floor((this.now() - SIP_DELAY_MS) / MINUTE_MS) * MINUTE_MS);
    const cacheEnd = Math.min(end, closedEnd);

    if (cacheEnd > start) {
      // Symbols missing the same sub-range share one multi-symbol request.
      const byGap = new Map<string, { range: Range; symbols: string[] }>();
      for (const s of new Set(symbols)) {
        for (const r of missingRanges(start, cacheEnd, this.store.covered(s, start, cacheEnd))) {
          const key = `${r[0]}-${r[1]}`;
          const g = byGap.get(key) ?? { range: r, symbols: [] };
          g.symbols.push(s);
          byGap.set(key, g);
        }
      }
      for (const { range, symbols: syms } of byGap.values()) {
        const got = await this.source.getBars(syms, range[0], range[1]);
        for (const s of syms) this.store.write(s, range[0], range[1], got.get(s) ?? []);
      }
      for (const s of symbols) out.set(s, this.store.read(s, start, cacheEnd));
    }
    if (end > cacheEnd) {
      const fresh = await this.source.getBars(symbols, Math.max(start, cacheEnd), end);
      for (const s of symbols) out.get(s)!.push(...(fresh.get(s) ?? []));
    }
    return out;
  }

  getLatestQuotes(symbols: readonly string[]): Promise<Map<string, Quote>> {
    return this.source.getLatestQuotes(symbols);
  }
}
