import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import { DashboardFeed, feedRow } from '../src/dashboard/feed.js';
import { buildStory } from '../src/dashboard/story.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { protectionText } from '../src/leg-text.js';
import type { PriceSource } from '../src/paper/prices.js';
import { processSignal } from '../src/pipeline.js';
import { decisionText } from '../src/report.js';
import { paperVenue } from '../src/venue/index.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// A bracket entry's paper legs on the feed card and in the story read as what they are ("bracket stop 11.5 /
// target 14.01", with their state), never as plain sells at the entry's price.

let dir: string;
let journal: Journal;
const MON_0931_ET = Date.parse('2026-11-23T14:31:00Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-dlegs-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('feed and story: protective legs', () => {
  it('a paper bracket entry reads "bracket stop / target" with the legs state, as they rest and fill', async () => {
    const clock = { at: MON_0931_ET };
    const price = { v: 12.34 };
    const prices: PriceSource = {
      next: async (symbols, t) =>
        new Map(symbols.map(({ symbol }) => [symbol, { t, o: price.v, h: price.v, l: price.v, c: price.v }])),
    };
    const config: Config = testConfig({
      exchange: { venue: 'us_equity' },
      risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
      sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
    } as never);
    const now = () => clock.at;
    const exchange = new PaperAdapter(journal, config, undefined, MON_0931_ET, { prices, now });
    const executor = new Executor(journal, exchange, config, testLog, now);
    const d = {
      config,
      journal,
      exchange,
      executor,
      log: testLog,
      now,
      venue: paperVenue({ config, journal, log: testLog, now }, exchange),
    };
    const feed = new DashboardFeed(journal, now);
    const s = baseSignal(
      1,
      { symbol: 'ACME', price: 12.34, stop_loss: 11.5, take_profit: 14.01 } as Partial<Signal>,
      clock.at,
    ) as Signal;
    await processSignal(d, s, { ok: true }, clock.at);
    const legs = () => journal.intentsFor(s.epoch, s.seq);
    expect(Object.fromEntries(legs().map((l) => [l.leg, l.status]))).toEqual({
      entry: 'filled',
      bracket_tp: 'open',
      bracket_sl: 'open',
    });

    const row = () => feedRow(journal.dashboard().decisionAt(s.epoch, s.seq)!, legs());
    // The card's text: the entry alone, never its legs as sells at the entry's price; the page words the legs
    // from the orders with their live state (protectionText, as in the story below).
    expect(row().text).toMatch(/^buy \d+ ACME market bracket tp 14\.01 sl 11\.5 \w+ @ [\d.]+ = [\d.]+$/);
    // The stream's row (a change event) says the same.
    const live = feed
      .poll(true)
      .find((e) => e.kind === 'decision' && e.decision.seq === s.seq && e.decision.verdict === 'trade');
    expect(live?.kind === 'decision' && live.decision.text).toBe(row().text);
    // history / export (with state): both legs resting.
    const withState = decisionText(row(), legs());
    expect(withState).toMatch(/ filled; bracket stop 11\.5 \/ target 14\.01 \(resting\)$/);
    expect(protectionText(buildStory(journal, s.epoch, s.seq)!.orders)).toEqual([
      'bracket stop 11.5 / target 14.01 (resting)',
    ]);

    // The stop fills: the target is cancelled with it.
    clock.at += 60_000;
    price.v = 11.2;
    await exchange.tick();
    await executor.reconcileAll();
    expect(decisionText(row(), legs())).toMatch(
      /; bracket stop 11\.5 \(filled\) \/ target 14\.01 \(cancelled\)$/,
    );
    expect(protectionText(buildStory(journal, s.epoch, s.seq)!.orders)).toEqual([
      'bracket stop 11.5 (filled) / target 14.01 (cancelled)',
    ]);
  });

  it('an OCO placed at the open, a lone stop and a lone target; a partly filled leg', () => {
    const leg = (over: Partial<Parameters<typeof protectionText>[0][number]>) => ({
      leg: 'protect',
      status: 'open',
      amount: 10,
      filled: 0,
      price: null,
      stop_loss: null,
      take_profit: null,
      ...over,
    });
    expect(protectionText([leg({ stop_loss: 3.01, take_profit: 3.61 })])).toEqual([
      'OCO stop 3.01 / target 3.61 (resting)',
    ]);
    expect(protectionText([leg({ leg: 'sl', stop_loss: 3.01, status: 'canceled' })])).toEqual([
      'stop 3.01 (cancelled)',
    ]);
    expect(protectionText([leg({ leg: 'tp', price: 3.61, filled: 4 })])).toEqual([
      'target 3.61 (resting, 4 of 10 filled)',
    ]);
    expect(protectionText([leg({ stop_loss: 3.01, take_profit: 3.61 })], false)).toEqual([
      'OCO stop 3.01 / target 3.61',
    ]);
  });
});
