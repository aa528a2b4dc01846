/**
 * How long `catalyst-client backtest` takes on a year of Catalyst-Bot-like history with a warm bar cache
 * (issue 23: <= 60 s on this 2-core machine). Everything is synthetic and generated in-process: `--signals`
 * signals (default 50,000; mostly info alerts, some avoids) of which `--entries` (default 5,000) are entries with
 * a bracket (stop -2 %, target +2 %), over `--symbols` symbols (default 500) and the trading days of one year.
 * The bar cache (bars.sqlite, the client's own SqliteBarStore) is filled first with a seeded 1-minute random walk
 * over the regular session of each entry's day and the next trading day, and marked covered for the whole year,
 * so the timed part fetches nothing (the source throws if asked). Timed: one config and its "every enter signal,
 * no filters" baseline, as the command runs them.
 * Run: npm run bench:backtest [-- --signals N --entries N --symbols N]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import { CachedMarketData, type Bar, type MarketData } from '@catalyst-signal/shared/market-data';
import { builtinCalendar, newYorkToUtc } from '../dist/decide/index.js';
import { parseConfig } from '../dist/config.js';
import { SqliteBarStore } from '../dist/journal/bar-store.js';
import { runBacktest, unfiltered } from '../dist/backtest/engine.js';
import { mulberry32 } from '../dist/paper/prices.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const SIGNALS = arg('signals', 50_000);
const ENTRIES = arg('entries', 5_000);
const SYMBOLS = arg('symbols', 500);
const rand = mulberry32(23);

const from = Date.parse('2025-01-01T05:00:00Z');
const to = Date.parse('2026-01-01T05:00:00Z');
const days = builtinCalendar(from, 400).filter((d) => {
  const t = newYorkToUtc(d.date, d.open);
  return t >= from && t < to;
});
const sym = (i: number) => `S${String(i).padStart(3, '0')}`.replace(/\d/g, (c) => 'ABCDEFGHIJ'[Number(c)]!);
const basePrice = Array.from({ length: SYMBOLS }, () => 1 + rand() * 19);

// Signals: entries spread over the year's regular sessions, the rest info alerts and avoids.
const signals: Signal[] = [];
const barDays = new Map<string, Set<number>>();
for (let i = 0; i < SIGNALS; i++) {
  const entry = i % Math.round(SIGNALS / ENTRIES) === 0;
  const s = Math.floor(rand() * SYMBOLS);
  const di = Math.floor(rand() * days.length);
  const day = days[di]!;
  const open = newYorkToUtc(day.date, day.open);
  const at = open + Math.floor(rand() * 380) * 60_000 + 30_000;
  const price = basePrice[s]!;
  if (entry) {
    const set = barDays.get(sym(s)) ?? new Set();
    set.add(di);
    if (di + 1 < days.length) set.add(di + 1);
    barDays.set(sym(s), set);
  }
  signals.push({
    source_id: `bench-${i}`,
    symbol: sym(s),
    asset_class: 'us_equity',
    catalyst: entry ? (['fda', 'merger', 'earnings'] as const)[i % 3]! : 'analyst',
    action: entry ? 'enter' : i % 10 === 1 ? 'avoid' : 'info',
    direction: 'long',
    confidence: entry ? 0.5 + rand() * 0.5 : i % 10 === 1 ? 1 : 0,
    price,
    ...(entry ? { stop_loss: Math.round(price * 98) / 100, take_profit: Math.round(price * 102) / 100 } : {}),
    headline: `bench ${i}`,
    classified_at: new Date(at).toISOString(),
    ingested_at: new Date(at + 500).toISOString(),
    seq: i + 1,
    epoch: 'bench',
    sig: 'unsigned',
  } as Signal);
}
const entries = signals.filter((s) => s.action === 'enter').length;

// The warm cache: bars of each entry's day and the next, the whole year covered.
const dir = mkdtempSync(join(tmpdir(), 'backtest-bench-'));
const store = new SqliteBarStore(join(dir, 'bars.sqlite'));
let rows = 0;
const t0 = performance.now();
for (let s = 0; s < SYMBOLS; s++) {
  const bars: Bar[] = [];
  let p = basePrice[s]!;
  for (const di of [...(barDays.get(sym(s)) ?? [])].sort((a, b) => a - b)) {
    const d = days[di]!;
    const open = newYorkToUtc(d.date, d.open);
    for (let m = 0; m < 390; m++) {
      const o = p;
      let h = o;
      let l = o;
      for (let k = 0; k < 4; k++) {
        p = Math.max(0.5, p * (1 + (rand() - 0.5) * 0.004));
        h = Math.max(h, p);
        l = Math.min(l, p);
      }
      bars.push({ t: open + m * 60_000, o, h, l, c: p, v: 100 });
    }
    p = basePrice[s]!;
  }
  // Whole UTC days around the window too: the backtest reads the cache a UTC day at a time.
  store.write(sym(s), from - 86_400_000, to + 86_400_000, bars);
  rows += bars.length;
}
const warmMs = performance.now() - t0;
const refuse: MarketData = {
  getBars: async () => {
    throw new Error('bench: the bar cache is not warm (a fetch was asked for)');
  },
  getLatestQuotes: async () => new Map(),
};
const market = new CachedMarketData(refuse, store);
const config = parseConfig({ exchange: { venue: 'us_equity' }, filters: { min_confidence: 0.6 } });
const log = pino({ level: 'silent' });

console.log(
  `backtest bench: ${signals.length} signals (${entries} entries) over ${SYMBOLS} symbols, ${days.length} trading days; warm cache ${rows} bars (${(warmMs / 1000).toFixed(1)} s to build)`,
);
const t1 = performance.now();
// CPU time beside wall time: on a shared machine the wall time says more about the neighbours than the code.
const c1 = process.cpuUsage();
const a = await runBacktest({ config, signals, market, from, to, log });
const t2 = performance.now();
const b = await runBacktest({ config: unfiltered(config), signals, market, from, to, log });
const t3 = performance.now();
const cpu = process.cpuUsage(c1);
const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(`  config:    ${a.trades.length} trades, ${fmt(t2 - t1)}`);
console.log(`  baseline:  ${b.trades.length} trades, ${b.fills.length} fills, ${fmt(t3 - t2)}`);
console.log(
  `  total ${fmt(t3 - t1)} (target <= 60 s), cpu ${fmt((cpu.user + cpu.system) / 1000)}; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
);
// A digest of every figure: a speed change must leave it as it was (same size, same seed).
const digest = createHash('sha256')
  .update(JSON.stringify([a, b]))
  .digest('hex')
  .slice(0, 16);
console.log(`  results digest ${digest}`);
store.close();
rmSync(dir, { recursive: true, force: true });
