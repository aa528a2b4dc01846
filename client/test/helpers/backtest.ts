import type { Signal } from '@catalyst-signal/shared';
import type { Bar, MarketData } from '@catalyst-signal/shared/market-data';
import { newYorkToUtc } from '../../src/decide/index.js';

/** Hand-built bars as a market-data source (the backtest's known-answer and property tests). */
export function barsSource(bars: Record<string, Bar[]>): MarketData {
  return {
    async getBars(symbols, start, end) {
      return new Map(symbols.map((s) => [s, (bars[s] ?? []).filter((b) => b.t >= start && b.t < end)]));
    },
    async getLatestQuotes() {
      return new Map();
    },
  };
}

/** New York wall time on a date -> ms ("10:01" or "10:01:30"). */
export const ny = (date: string, hm: string) =>
  newYorkToUtc(date, hm.slice(0, 5)) + (hm.length > 5 ? Number(hm.slice(6)) * 1000 : 0);

/** A bar at New York minute `hm`: [o, h, l, c]. */
export const bar = (date: string, hm: string, [o, h, l, c]: [number, number, number, number]): Bar => ({
  t: ny(date, hm),
  o,
  h,
  l,
  c,
  v: 1000,
});

let n = 0;
/** An unsigned us_equity entry signal decided at `at` (the backtest does not verify). */
export function entrySignal(at: number, over: Partial<Signal> = {}): Signal {
  n++;
  return {
    source_id: `bt-${n}`,
    symbol: 'ABC',
    asset_class: 'us_equity',
    catalyst: 'fda',
    action: 'enter',
    direction: 'long',
    confidence: 0.9,
    price: 10,
    headline: `headline ${n}`,
    classified_at: new Date(at).toISOString(),
    ingested_at: new Date(at).toISOString(),
    seq: n,
    epoch: 'ep-bt',
    sig: 'unsigned',
    ...over,
  } as Signal;
}
