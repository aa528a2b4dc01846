import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { AtOpen } from '../src/at-open.js';
import { historyCommand } from '../src/commands/inspect.js';
import type { Config } from '../src/config.js';
import type { Context } from '../src/context.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import type { PriceSource } from '../src/paper/prices.js';
import { processSignal } from '../src/pipeline.js';
import { paperVenue } from '../src/venue/index.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// `history` (and its --json) shows what a person needs to follow a signal to its end: the second decision of a
// signal held until the open, and every protective leg (bracket take-profit and stop) with its level and state.

let dir: string;
let path: string;
let journal: Journal;
const MON_0800_ET = Date.parse('2026-11-23T13:00:00Z');
const MON_0931_ET = Date.parse('2026-11-23T14:31:00Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-hlegs-'));
  path = join(dir, 'j.sqlite');
  journal = Journal.open(path);
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('history: legs and the second decision', () => {
  it('lists the decision at the open and the bracket legs with their levels and states, as they fill', async () => {
    const clock = { at: MON_0800_ET };
    const price = { v: 12.34 };
    const prices: PriceSource = {
      next: async (symbols, t) =>
        new Map(symbols.map(({ symbol }) => [symbol, { t, o: price.v, h: price.v, l: price.v, c: price.v }])),
    };
    const config: Config = testConfig({
      exchange: { venue: 'us_equity' },
      risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
      sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
      equities: { session_policy: 'hold_until_open' },
    } as never);
    const now = () => clock.at;
    const exchange = new PaperAdapter(journal, config, undefined, MON_0800_ET, { prices, now });
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
    const s = baseSignal(
      1,
      { symbol: 'ACME', price: 12.34, stop_loss: 11.5, take_profit: 14.01 } as Partial<Signal>,
      clock.at,
    ) as Signal;
    await processSignal(d, s, { ok: true }, clock.at);
    clock.at = MON_0931_ET;
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 1 });

    const ctx = { journalPath: path, configPath: join(dir, 'catalyst.yaml'), config } as unknown as Context;
    const text = historyCommand(ctx, {});
    expect(text).toContain('deferred:until_open');
    expect(text).toMatch(/\n {6}decided again 2026-11-23T14:31:00\.000Z: trade trade:entry/);
    expect(text).toMatch(
      /\n {6}entry: order \S+ buy \d+ ACME filled @ [\d.]+\n {6}bracket take-profit: order \S+ sell \d+ ACME limit 14\.01 open\n {6}bracket stop: order \S+ sell \d+ ACME stop 11\.5 open$/,
    );

    clock.at += 60_000;
    price.v = 11.2;
    await exchange.tick();
    await executor.reconcileAll();
    const after = historyCommand(ctx, {});
    expect(after).toMatch(/bracket take-profit: order \S+ sell \d+ ACME limit 14\.01 canceled\n/);
    expect(after).toMatch(/bracket stop: order \S+ sell \d+ ACME stop 11\.5 filled @ 11\.19/);

    const json = JSON.parse(historyCommand(ctx, { json: true })) as {
      redecision: { reason: string; legs: unknown[] } | null;
      orders: { leg: string; role: string; status: string }[];
    }[];
    expect(json[0]!.redecision).toMatchObject({
      reason: 'trade:entry',
      legs: [expect.objectContaining({ leg: 'entry' })],
    });
    expect(json[0]!.orders.map((o) => [o.role, o.status])).toEqual(
      expect.arrayContaining([
        ['entry', 'filled'],
        ['bracket take-profit', 'canceled'],
        ['bracket stop', 'filled'],
      ]),
    );
  });
});
