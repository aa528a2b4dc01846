import { AlpacaReply, unprocessable } from './types.js';
import { nyParts, nyToMs, type MarketCalendar } from './clock.js';

/**
 * The emulator's market-data bars: a seeded 1-minute price path per symbol, as Alpaca's data API serves it
 * (GET /v2/stocks/bars and /v2/stocks/{symbol}/bars). Sessions-aware: bars only within 04:00-20:00 New York on
 * trading days, thin pre- and after-hours (many minutes without a trade, so without a bar), a halt (no bars at
 * all, never zero bars) and a split (raw prices jump, split-adjusted ones do not). Only minutes that have
 * closed on the emulator's clock exist. Paginated like Alpaca: `limit` counts bars over all symbols, symbols in
 * alphabetical order, each oldest first, and `next_page_token` resumes where the page stopped.
 */

export interface EmuHalt {
  symbol: string;
  /** New York wall times "YYYY-MM-DDTHH:MM"; no bar starts in [from, to). */
  from: string;
  to: string;
}

export interface EmuSplit {
  symbol: string;
  /** First trading day at the new share count. */
  date: string;
  /** New shares per old share: 2 for a 2-for-1, 0.1 for a 1-for-10 reverse split. */
  ratio: number;
}

export interface EmuBarsOptions {
  seed?: number;
  halts?: EmuHalt[];
  splits?: EmuSplit[];
  /** Data API calls per minute of the emulator's clock before it answers 429 (Alpaca's free plan: 200). */
  callsPerMinute?: number;
}

export interface EmuBar {
  symbol: string;
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n: number;
  vw: number;
}

/** Defaults: PNNY halted 10:30-10:45 on Monday 2026-11-23; LOWP 1-for-10 reverse split effective 2026-11-24. */
export const DEFAULT_HALTS: EmuHalt[] = [
  { symbol: 'PNNY', from: '2026-11-23T10:30', to: '2026-11-23T10:45' },
];
export const DEFAULT_SPLITS: EmuSplit[] = [{ symbol: 'LOWP', date: '2026-11-24', ratio: 0.1 }];

const MIN = 60_000;

/** A small, fast, seeded hash -> [0, 1). */
function unit(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join('|')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 16777619);
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}
const normal = (...parts: (string | number)[]) => {
  const u = Math.max(1e-9, unit(...parts, 'a'));
  const v = unit(...parts, 'b');
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
const round = (p: number) => (p >= 1 ? Math.round(p * 100) / 100 : Math.round(p * 10_000) / 10_000);

export class EmuBars {
  readonly seed: number;
  readonly halts: EmuHalt[];
  readonly splits: EmuSplit[];
  private readonly days = new Map<string, EmuBar[]>();

  constructor(
    private readonly cal: MarketCalendar,
    private readonly basePrice: (symbol: string) => number | undefined,
    opts: EmuBarsOptions = {},
  ) {
    this.seed = opts.seed ?? 23;
    this.halts = opts.halts ?? DEFAULT_HALTS;
    this.splits = opts.splits ?? DEFAULT_SPLITS;
  }

  /** One trading day of split-adjusted SIP bars (memoised: pages re-read the same days). */
  private day(symbol: string, date: string): EmuBar[] {
    const key = `${symbol}|${date}`;
    const hit = this.days.get(key);
    if (hit) return hit;
    const d = this.cal.day(date);
    const base = this.basePrice(symbol);
    const out: EmuBar[] = [];
    if (d && base !== undefined) {
      const start = nyToMs(`${date}T${d.sessionOpen}`);
      const open = nyToMs(`${date}T${d.open}`);
      const close = nyToMs(`${date}T${d.close}`);
      const end = nyToMs(`${date}T${d.sessionClose}`);
      const halts = this.halts
        .filter((h) => h.symbol === symbol)
        .map((h) => [nyToMs(h.from), nyToMs(h.to)] as const);
      // Each day starts near the base price, so a path stays in its price tier however far a test looks.
      let p = base * Math.exp(0.04 * normal(this.seed, symbol, date));
      for (let t = start, i = 0; t < end; t += MIN, i++) {
        const regular = t >= open && t < close;
        const drift = 0.002 * normal(this.seed, symbol, date, i);
        const o = p;
        const c = p * Math.exp(drift);
        p = c;
        if (halts.some(([a, b]) => t >= a && t < b)) continue;
        if (unit(this.seed, symbol, date, i, 'gap') < (regular ? 0.02 : 0.35)) continue;
        const wick = Math.abs(0.001 * normal(this.seed, symbol, date, i, 'w'));
        const h = Math.max(o, c) * (1 + wick);
        const l = Math.min(o, c) * (1 - wick);
        const v = Math.round((regular ? 5000 : 300) * (0.2 + unit(this.seed, symbol, date, i, 'v')));
        out.push({
          symbol,
          t,
          o: round(o),
          h: round(h),
          l: round(l),
          c: round(c),
          v,
          n: 1 + (v % 97),
          vw: round((o + c) / 2),
        });
      }
    }
    this.days.set(key, out);
    return out;
  }

  /** Bars of `symbol` starting in [start, end] (Alpaca's end is inclusive) that have closed by `now`. */
  bars(symbol: string, start: number, end: number, now: number, adjustment: string, feed: string): EmuBar[] {
    const out: EmuBar[] = [];
    const dates = this.cal.range(nyParts(start).date, nyParts(end).date);
    for (const d of dates) {
      const split = this.splits.find((s) => s.symbol === symbol && d.date < s.date);
      for (const b of this.day(symbol, d.date)) {
        if (b.t < start || b.t > end || b.t + MIN > now) continue;
        let bar = b;
        // Stored adjusted; raw prices before a split are at the old share count.
        if (split && adjustment === 'raw') {
          const r = split.ratio;
          bar = {
            ...b,
            o: round(b.o * r),
            h: round(b.h * r),
            l: round(b.l * r),
            c: round(b.c * r),
            vw: round(b.vw * r),
            v: Math.round(b.v / r),
          };
        }
        // IEX sees a few percent of the consolidated volume.
        if (feed === 'iex') bar = { ...bar, v: Math.max(1, Math.round(bar.v * 0.03)), n: 1 };
        out.push(bar);
      }
    }
    return out;
  }
}

const barJson = (b: EmuBar) => ({
  t: new Date(b.t).toISOString().replace('.000Z', 'Z'),
  o: b.o,
  h: b.h,
  l: b.l,
  c: b.c,
  v: b.v,
  n: b.n,
  vw: b.vw,
});

const encodeToken = (symbol: string, t: number) => Buffer.from(`${symbol}|${t}`).toString('base64');
function decodeToken(tok: string): [string, number] {
  const m = /^([A-Z0-9.]+)\|(\d+)$/.exec(Buffer.from(tok, 'base64').toString());
  if (!m) throw unprocessable('invalid page_token', 42210000);
  return [m[1]!, Number(m[2])];
}

/** GET /v2/stocks/bars (symbols in the query) or /v2/stocks/{symbol}/bars (one symbol in the path). */
export function barsRoute(
  bars: EmuBars,
  hasSymbol: (s: string) => boolean,
  q: Record<string, string>,
  now: number,
  single?: string,
): object {
  const symbols = single
    ? [single]
    : (q['symbols'] ?? '')
        .split(',')
        .filter(Boolean)
        .map((s) => s.toUpperCase());
  if (symbols.length === 0) throw unprocessable('symbols is required');
  if (q['timeframe'] !== '1Min')
    throw unprocessable(`invalid timeframe ${q['timeframe'] ?? ''} (emulator: 1Min only)`);
  const start = Date.parse(q['start'] ?? '');
  if (!Number.isFinite(start)) throw unprocessable('invalid start');
  const end = q['end'] ? Date.parse(q['end']) : now;
  if (!Number.isFinite(end)) throw unprocessable('invalid end');
  const limit = q['limit'] ? Number(q['limit']) : 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw unprocessable('invalid limit');
  const feed = q['feed'] ?? 'iex';
  const adjustment = q['adjustment'] ?? 'raw';
  if (!['sip', 'iex'].includes(feed)) throw unprocessable(`invalid feed ${feed}`);
  if (!['raw', 'split', 'dividend', 'all'].includes(adjustment))
    throw unprocessable(`invalid adjustment ${adjustment}`);
  if (feed === 'sip' && end > now - 15 * MIN)
    throw new AlpacaReply(403, { message: 'subscription does not permit querying recent SIP data' });

  const all = symbols
    .filter(hasSymbol)
    .sort()
    .flatMap((s) => bars.bars(s, start, end, now, adjustment, feed));
  let from = 0;
  if (q['page_token']) {
    const [sym, t] = decodeToken(q['page_token']);
    from = all.findIndex((b) => b.symbol > sym || (b.symbol === sym && b.t >= t));
    if (from < 0) from = all.length;
  }
  const page = all.slice(from, from + limit);
  const next = all[from + limit];
  const next_page_token = next ? encodeToken(next.symbol, next.t) : null;
  if (single) return { bars: page.length ? page.map(barJson) : null, symbol: single, next_page_token };
  const grouped: Record<string, object[]> = {};
  for (const b of page) (grouped[b.symbol] ??= []).push(barJson(b));
  return { bars: grouped, next_page_token };
}
