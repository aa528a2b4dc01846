import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Signal } from '@catalyst-signal/shared';
import type { MarketData } from '@catalyst-signal/shared/market-data';
import { BarFeed } from '../backtest/bar-feed.js';
import { runBacktest, unfiltered } from '../backtest/engine.js';
import {
  ASSUMPTIONS,
  backtestHtml,
  formatBacktest,
  summarize,
  type BacktestReport,
  type ConfigResult,
} from '../backtest/report.js';
import type { Config } from '../config.js';
import { readConfigFile, type Context } from '../context.js';
import { newYorkDayStart, newYorkToUtc } from '../decide/index.js';
import { UsageError } from '../errors.js';
import { historyPages, historyVerifier } from '../history-pages.js';
import { ownDataKeys, ownMarketData } from '../market-data.js';

/**
 * `catalyst-client backtest`: the server's history (this config's read key, verified as replay does) through
 * one or more configs' real decision pipeline, fills simulated on 1-minute bars from the friend's own data keys
 * (cached in bars.sqlite), beside "every enter signal, no filters" and a buy-and-hold benchmark.
 */

export interface BacktestOptions {
  configs: string[];
  from: string;
  to: string;
  json?: string | undefined;
  html?: string | undefined;
  benchmark: string;
  /** Tests: bars from here instead of Alpaca. */
  market?: MarketData;
  progress?: (line: string) => void;
}

/** A date (New York day: from its start / through its end) or an ISO instant. */
export function windowEdge(s: string, edge: 'from' | 'to'): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const start = newYorkToUtc(s, '00:00');
    return edge === 'from' ? start : newYorkDayStart(start + 36 * 3_600_000);
  }
  const t = Date.parse(s);
  if (Number.isNaN(t))
    throw new UsageError(`--${edge}: expected a date (2026-11-23) or an ISO instant, got "${s}"`);
  return t;
}

export async function backtestCommand(ctx: Context, o: BacktestOptions): Promise<string> {
  const from = windowEdge(o.from, 'from');
  const to = windowEdge(o.to, 'to');
  if (!(to > from)) throw new UsageError(`--to must be after --from`);
  const { config, secrets } = ctx;
  if (!secrets.serverKey)
    throw new UsageError(`${config.server.key_env} is not set (environment or .env): a read key is needed`);
  const keys = o.market ? undefined : ownDataKeys(ctx, 'backtest fetches 1-minute bars');
  const configs: { name: string; config: Config }[] = (o.configs.length ? o.configs : [ctx.configPath]).map(
    (p) => ({ name: basename(p), config: p === ctx.configPath ? config : readConfigFile(p) }),
  );
  const say = o.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

  const verify = await historyVerifier(ctx);
  const signals: Signal[] = [];
  let bad = 0;
  for await (const page of historyPages({ config, serverKey: secrets.serverKey, afterSeq: 0 })) {
    for (const s of page.signals) {
      if (!(await verify(s)).ok) bad++;
      else signals.push(s);
    }
    say(
      `backtest: history ${signals.length + bad} signals${page.head ? ` of ${page.head}` : ''} (${elapsed()})`,
    );
  }
  if (bad) say(`backtest: ${bad} signals failed signature verification and are left out`);

  const own = o.market ? undefined : ownMarketData(ctx, keys!);
  const market = o.market ?? own!.market;
  try {
    const results: ConfigResult[] = [];
    for (const c of configs) {
      const run = async (cfg: Config, label: string) =>
        runBacktest({
          config: cfg,
          signals,
          market,
          from,
          to,
          log: ctx.log,
          onProgress: (p) => say(`backtest ${label}: ${p.done}/${p.total} signals (${elapsed()})`),
        });
      const r = await run(c.config, c.name);
      const b = await run(unfiltered(c.config), `${c.name} (no filters)`);
      results.push({ name: c.name, run: summarize(r), baseline: summarize(b), trades: r.trades });
    }
    const feed = new BarFeed(market, to);
    const first = await feed.first(o.benchmark, from, to);
    const last = first && (await feed.last(o.benchmark, first.t, to));
    const report: BacktestReport = {
      window: `${o.from} .. ${o.to}`,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      assumptions: ASSUMPTIONS,
      benchmark: {
        symbol: o.benchmark,
        returnPct: first && last ? (last.c / first.o - 1) * 100 : null,
        from: first?.o,
        to: last?.c,
      },
      configs: results,
      elapsedMs: Date.now() - started,
    };
    if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2) + '\n');
    if (o.html) writeFileSync(o.html, backtestHtml(report));
    return formatBacktest(report);
  } finally {
    own?.close();
  }
}
