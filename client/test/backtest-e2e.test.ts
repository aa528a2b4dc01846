import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { classification, startTestServer, tempDir } from '../../server/test/helpers/server.js';
import { pastMonday } from '../../server/test/helpers/track-record.js';
import type { BacktestReport } from '../src/backtest/report.js';
import {
  DEFAULT_ASSETS,
  nyToMs,
  startAlpacaEmulator,
  type AlpacaEmulator,
} from './helpers/alpaca-emulator.js';
import { nyParts } from './helpers/alpaca/clock.js';
import { runCli } from './helpers/client-process.js';

/**
 * `catalyst-client backtest` through the built CLI: a real server holds the history, the Alpaca emulator serves
 * the bars (seeded paths, a halt). Two configs side by side; the figures must equal what an independent reference
 * here computes from the emulator's own bars: entry at the open of the first bar after the signal (slippage
 * against), bracket legs walked bar by bar with the stop first, fees on each side, open positions at the last close.
 */

let emu: AlpacaEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const FEE = 0.001;
const SLIP = 0.0005;

describe('catalyst-client backtest (server history, emulator bars)', () => {
  it('two configs side by side give the figures an independent reference computes', async () => {
    const day = pastMonday();
    const now = nyParts(Date.now());
    emu = await startAlpacaEmulator({
      now: `${now.date}T${now.time}`,
      assets: [...DEFAULT_ASSETS, { ...DEFAULT_ASSETS[0]!, symbol: 'IWM', price: 240 }],
      bars: { halts: [{ symbol: 'PNNY', from: `${day}T10:30`, to: `${day}T10:45` }] },
    });
    const srv = await startTestServer();
    const at = (hm: string) => new Date(nyToMs(`${day}T${hm}`)).toISOString();
    // Levels around the emulator's own AAPL price at 10:00: a bracket that the path can really reach either way.
    const a0 = emu.bars.bars(
      'AAPL',
      nyToMs(`${day}T10:00`),
      nyToMs(`${day}T10:01`),
      Date.now(),
      'split',
      'sip',
    )[0]!.o;
    // Whole cents: the order plan's own tick rounding leaves them as they are.
    const [SL, TP] = [Math.round(a0 * 99.7) / 100, Math.round(a0 * 100.3) / 100];
    const equity = {
      asset_class: 'us_equity' as const,
      action: 'enter' as const,
      direction: 'long' as const,
    };
    for (const over of [
      {
        symbol: 'AAPL',
        catalyst: 'fda',
        confidence: 0.85,
        price: a0,
        stop_loss: SL,
        take_profit: TP,
        classified_at: at('10:00'),
      },
      // Inside PNNY's halt: the first trade after it is the halt's end.
      { symbol: 'PNNY', catalyst: 'offering', confidence: 0.72, price: 0.5, classified_at: at('10:31') },
      {
        symbol: 'AAPL',
        catalyst: 'analyst',
        action: 'info' as const,
        confidence: 0.9,
        price: 200,
        classified_at: at('11:00'),
      },
    ]) {
      const res = await srv.post(classification(undefined, { ...equity, ...over }));
      expect(res.status, await res.clone().text()).toBe(201);
    }

    const dir = tempDir();
    const cfg = (name: string, minConfidence: number) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        stringify({
          data_dir: '.',
          server: { url: srv.url },
          exchange: { venue: 'us_equity', alpaca: { base_url: emu!.url } },
          filters: { min_confidence: minConfidence },
          sizing: { mode: 'fixed_quote', fixed_quote: 1000, max_quote_per_trade: 2000 },
          risk: { max_exposure_per_symbol_quote: 2000, max_total_exposure_quote: 5000 },
          paper: { starting_balance_quote: 10_000, fee_rate: FEE, slippage_pct: SLIP * 100 },
        }),
      );
      return path;
    };
    const strict = cfg('strict.yaml', 0.8);
    const loose = cfg('loose.yaml', 0.6);
    const env = {
      CATALYST_SERVER_KEY: srv.readKey,
      APCA_API_KEY_ID: emu.keyId,
      APCA_API_SECRET_KEY: emu.secret,
    };
    const json = join(dir, 'out.json');
    const html = join(dir, 'out.html');
    const r = await runCli(
      ['-c', strict, '-c', loose, 'backtest', '--from', day, '--to', day, '--json', json, '--html', html],
      env,
      dir,
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BacktestReport;

    // The independent reference: the emulator's own bars, walked here.
    const from = nyToMs(`${day}T00:00`);
    const to = nyToMs(`${day}T23:59`) + 60_000;
    const bars = (sym: string) => emu!.bars.bars(sym, from, to, Date.now(), 'split', 'sip');
    const entry = (sym: string, t: string) => bars(sym).find((b) => b.t >= nyToMs(`${day}T${t}`))!;
    const aaplIn = entry('AAPL', '10:00');
    const pnnyIn = entry('PNNY', '10:31');
    expect(pnnyIn.t).toBe(nyToMs(`${day}T10:45`));
    const ref = (sym: string, first: { t: number; o: number }, amount: number, sl?: number, tp?: number) => {
      const buy = first.o * (1 + SLIP);
      let exit: number | undefined;
      for (const b of bars(sym).filter((x) => x.t >= first.t && sl !== undefined)) {
        // Regular session only: bracket legs are not extended-hours orders.
        if (b.t >= nyToMs(`${day}T16:00`)) break;
        if (b.l <= sl!) exit = Math.min(b.o, sl!) * (1 - SLIP);
        else if (b.h >= tp!) exit = Math.max(b.o, tp!);
        if (exit !== undefined) break;
      }
      const mark =
        exit ??
        bars(sym)
          .filter((b) => b.t < to)
          .at(-1)!.c;
      return amount * mark - (exit !== undefined ? amount * exit * FEE : 0) - amount * buy * (1 + FEE);
    };
    const [s, l] = report.configs;
    expect(s!.name).toBe('strict.yaml');
    expect(l!.name).toBe('loose.yaml');
    expect(s!.trades.map((t) => t.market)).toEqual(['AAPL']);
    expect(l!.trades.map((t) => t.market)).toEqual(['AAPL', 'PNNY']);
    const aapl = s!.trades[0]!;
    const pnny = l!.trades[1]!;
    expect(aapl.entryPrice).toBeCloseTo(aaplIn.o * (1 + SLIP), 9);
    expect(pnny.entryPrice).toBeCloseTo(pnnyIn.o * (1 + SLIP), 9);
    const aaplRef = ref('AAPL', aaplIn, aapl.amount, SL, TP);
    const pnnyRef = ref('PNNY', pnnyIn, pnny.amount);
    expect(aapl.pnl).toBeCloseTo(aaplRef, 6);
    expect(pnny.pnl).toBeCloseTo(pnnyRef, 6);
    // The bracket did close inside the day (the reference's walk found an exit): a closed trade, win rate known.
    expect(aapl.open).toBe(false);
    expect(s!.run.winRate).not.toBeNull();
    expect(s!.run.pnl).toBeCloseTo(aaplRef, 6);
    expect(l!.run.pnl).toBeCloseTo(aaplRef + pnnyRef, 6);
    // Every enter signal, no filters: both entries, whichever config.
    expect(s!.baseline.pnl).toBeCloseTo(aaplRef + pnnyRef, 6);
    const iwm = bars('IWM');
    expect(report.benchmark.returnPct).toBeCloseTo((iwm.at(-1)!.c / iwm[0]!.o - 1) * 100, 9);
    expect(s!.run.backfilled).toBeGreaterThan(0);

    // Terminal summary: both configs and the baseline side by side, the benchmark, the assumptions said.
    expect(r.stdout).toMatch(/strict\.yaml\s+loose\.yaml/);
    expect(r.stdout).toMatch(/every enter, no filters/);
    expect(r.stdout).toMatch(/benchmark IWM buy-and-hold/);
    expect(r.stdout).toMatch(/queue position is ignored/);
    expect(r.stdout).toMatch(/stop before target/);
    expect(r.stderr).toMatch(/backtest strict\.yaml: 3\/3 signals/);
    // The HTML runs nothing and loads nothing: no script, its own CSP.
    const page = readFileSync(html, 'utf8');
    expect(page).not.toMatch(/<script|src=|href=/i);
    expect(page).toMatch(/Content-Security-Policy" content="default-src 'none'; style-src 'sha256-/);
    expect(page).toMatch(/<svg[^>]*aria-label="equity curve"/);

    // A bad window is one line and exit 2 (usage), before anything is fetched.
    const bad = await runCli(['-c', strict, 'backtest', '--from', 'soon', '--to', day], env, dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^catalyst-client: --from: expected a date \(2026-11-23\) or an ISO instant, got "soon"$/,
    );

    // A second run reads the bar cache: no bars request reaches the emulator.
    const before = emu.requests.filter((q) => q.path.includes('/bars')).length;
    const again = await runCli(['-c', strict, 'backtest', '--from', day, '--to', day], env, dir);
    expect(again.code, again.stderr).toBe(0);
    expect(emu.requests.filter((q) => q.path.includes('/bars')).length).toBe(before);
  });
});
