import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { parseConfig, type ConfigError } from '../src/config.js';
import { builtinCalendar, marketTime, nextSessionChange, realTimeAt } from '../src/decide/index.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { AtOpen } from '../src/at-open.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { newYorkLabel, reportMarketClock } from '../src/market-clock-report.js';
import { processSignal } from '../src/pipeline.js';
import { paperVenue } from '../src/venue/index.js';
import { formatOutcome } from '../src/report.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// paper.market_clock: offline us_equity paper meets the session of a simulated market time (demos at night and
// on weekends), while signal age stays real. Live configs are refused: the broker's clock decides there.

const clockCfg = (over: Record<string, unknown> = {}) => ({
  exchange: { venue: 'us_equity' },
  equities: { session_policy: 'extended' },
  paper: { market_clock: { start: '2026-11-23T09:29:00-05:00', speed: 30 } },
  risk: { cooldown_per_symbol_ms: 0 },
  sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
  ...over,
});
const issues = (raw: unknown) => {
  try {
    parseConfig(raw);
    return [];
  } catch (e) {
    return (e as ConfigError).issues;
  }
};

describe('paper.market_clock config', () => {
  it('is accepted for us_equity paper (hold_until_open too) and refused in live mode and on crypto_spot', () => {
    expect(parseConfig(clockCfg()).paper.market_clock).toEqual({
      start: '2026-11-23T09:29:00-05:00',
      speed: 30,
    });
    expect(issues({ ...clockCfg(), mode: 'live' })).toEqual([
      { path: 'paper.market_clock', message: expect.stringContaining("broker's clock") },
    ]);
    expect(issues(clockCfg({ exchange: {} }))[0]?.message).toMatch(/only us_equity/);
    // The open's work follows the simulated clock (AtOpen asks the driver's session), so holding is allowed.
    expect(issues(clockCfg({ equities: { session_policy: 'hold_until_open' } }))).toEqual([]);
    // No offset: ambiguous wall time, refused; a zero or negative speed too.
    expect(
      issues(clockCfg({ paper: { market_clock: { start: '2026-11-23T09:29:00', speed: 0 } } })).map(
        (i) => i.path,
      ),
    ).toEqual(['paper.market_clock.start', 'paper.market_clock.speed']);
  });

  it('market time runs from start at speed; session boundaries map back to real time', () => {
    const clock = { start: '2026-11-23T09:29:00-05:00', speed: 30 };
    const origin = 1_000_000;
    expect(marketTime(clock, origin, origin + 2000)).toBe(Date.parse('2026-11-23T14:30:00Z'));
    const open = nextSessionChange(marketTime(clock, origin, origin), builtinCalendar(origin, 9));
    // Builtin calendar around the REAL origin (1970) has nothing in 2026; around market time it does.
    expect(open).toBeUndefined();
    const m0 = Date.parse(clock.start);
    const next = nextSessionChange(m0, builtinCalendar(m0 - 86_400_000, 9))!;
    expect(new Date(next).toISOString()).toBe('2026-11-23T14:30:00.000Z');
    expect(realTimeAt(clock, origin, next)).toBe(origin + 2000);
    expect(newYorkLabel(next)).toBe('Mon 2026-11-23 09:30:00 ET');
  });
});

let dir: string;
let journal: Journal;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-mclock-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('paper trading on a market clock', () => {
  it('a Saturday-night signal meets simulated pre-market (ext-hours limit), then the open (bracket)', async () => {
    const SAT_NIGHT = Date.parse('2026-11-29T03:00:00Z');
    const config = parseConfig(clockCfg());
    const exchange = new PaperAdapter(journal, config, undefined, SAT_NIGHT);
    let now = SAT_NIGHT;
    const d = {
      config,
      journal,
      exchange,
      venue: paperVenue({ config, journal, log: testLog, now: () => now }, exchange),
      executor: new Executor(journal, exchange, config, testLog, () => now),
      log: testLog,
      now: () => now,
    };
    const sig = (seq: number, symbol: string) =>
      baseSignal(
        seq,
        { symbol, price: 7.9, stop_loss: 7.5, take_profit: 8.85 } as Partial<Signal>,
        now,
      ) as Signal;

    const pre = await processSignal(d, sig(1, 'TLMD'), { ok: true }, now);
    expect(pre.decision.reason).toBe('trade:entry');
    expect(JSON.parse(pre.intents[0]!.order_params!)).toMatchObject({
      extendedHours: true,
      orderClass: 'simple',
    });
    expect(formatOutcome(sig(1, 'TLMD'), pre, true, 'USD')).toMatch(
      /TRADED {3}buy 12 TLMD limit 7\.97 ext-hours DAY, protect at open @ [\d.]+ = [\d.]+ USD {2}filled \(paper\)$/,
    );

    now = SAT_NIGHT + 2000; // 60 market seconds later: 09:30 ET, the open
    const reg = await processSignal(d, sig(2, 'NVRX'), { ok: true }, now);
    expect(JSON.parse(reg.intents[0]!.order_params!)).toMatchObject({
      extendedHours: false,
      orderClass: 'bracket',
    });
    expect(formatOutcome(sig(2, 'NVRX'), reg, true, 'USD')).toMatch(
      /TRADED {3}buy 12 NVRX market bracket tp 8\.85 sl 7\.5 GTC @ /,
    );
    // Without the clock the same Saturday night is closed.
    const plain = parseConfig(clockCfg({ paper: {} }));
    const ex2 = new PaperAdapter(journal, plain, undefined, SAT_NIGHT);
    const closed = await processSignal(
      {
        ...d,
        config: plain,
        venue: paperVenue({ config: plain, journal, log: testLog, now: () => now }, ex2),
        executor: new Executor(journal, ex2, plain, testLog, () => now),
      },
      sig(3, 'ORPH'),
      { ok: true },
      now,
    );
    expect(closed.decision.reason).toBe('skipped:market_closed');
    // The session each signal met (on the simulated clock) is journaled with its decision, and each fill carries
    // it: the dashboard's P&L by session (dashboard/performance.ts) cannot recompute it from real time later.
    const q = journal.dashboard();
    const epoch = sig(1, 'TLMD').epoch;
    expect([1, 2, 3].map((s) => q.decisionAt(epoch, s)?.session)).toEqual(['pre', 'regular', 'closed']);
    expect(Object.fromEntries(q.fills().map((f) => [f.market, f.session]))).toEqual({
      TLMD: 'pre',
      NVRX: 'regular',
    });
  });

  it('an after-hours fill on the simulated clock gets its protection at the simulated open, not the real one', async () => {
    // Real time: Saturday night; the simulated market: Monday 19:00 ET, after-hours, at 3600x (1 real s = 1 market h).
    const SAT_NIGHT = Date.parse('2026-11-29T03:00:00Z');
    const config = parseConfig(
      clockCfg({ paper: { market_clock: { start: '2026-11-23T19:00:00-05:00', speed: 3600 } } }),
    );
    const exchange = new PaperAdapter(journal, config, undefined, SAT_NIGHT);
    let now = SAT_NIGHT;
    const d = {
      config,
      journal,
      exchange,
      venue: paperVenue({ config, journal, log: testLog, now: () => now }, exchange),
      executor: new Executor(journal, exchange, config, testLog, () => now),
      log: testLog,
      now: () => now,
    };
    const s = baseSignal(
      1,
      { symbol: 'TLMD', price: 7.9, stop_loss: 7.5, take_profit: 8.85 } as Partial<Signal>,
      now,
    ) as Signal;
    const entry = await processSignal(d, s, { ok: true }, now);
    expect(entry.intents[0]).toMatchObject({ status: 'filled' });
    expect(JSON.parse(entry.intents[0]!.order_params!)).toMatchObject({ protectAtOpen: true });

    now = SAT_NIGHT + 10_000; // market Tuesday 05:00 ET: pre-market, not yet
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'pre', protectedOrders: 0 });
    now = SAT_NIGHT + 14_600; // market Tuesday 09:36 ET: the simulated open (real time is still Saturday night)
    const lines: string[] = [];
    expect(await new AtOpen(d, (l) => lines.push(l)).check()).toMatchObject({
      session: 'regular',
      protectedOrders: 1,
    });
    expect(journal.intentsFor(s.epoch, s.seq).find((l) => l.leg === 'protect')).toMatchObject({
      side: 'sell',
      status: 'open',
      stop_loss: 7.5,
      take_profit: 8.85,
    });
    expect(lines.join('\n')).toMatch(/protection placed at the open: OCO sell \d+ TLMD/);
  });

  it('run status lines: the session now, then one line at each change (timer, not polling)', async () => {
    const lines: string[] = [];
    let changed!: () => void;
    const open = new Promise<void>((r) => (changed = r));
    const origin = Date.now();
    // 09:29:59.5 at 1x: the open comes ~500 ms of real time later.
    const r = reportMarketClock(
      { start: '2026-11-23T09:29:59.500-05:00', speed: 1 },
      origin,
      Date.now,
      (l) => {
        lines.push(l);
        if (lines.length === 2) changed();
      },
    );
    await open;
    r.stop();
    expect(lines).toEqual([
      'market clock Mon 2026-11-23 09:29:59 ET: pre-market',
      'market clock Mon 2026-11-23 09:30:00 ET: regular session',
    ]);
  });
});
