import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import type { Context } from '../src/context.js';
import { historyCommand, statusCommand } from '../src/commands/inspect.js';
import { startAccountRefresh, type AccountRefresh } from '../src/exchange/account-refresh.js';
import { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { AccountState, WARM_FACTS, type WarmFact } from '../src/venue/account-state.js';
import { alpacaDriver } from '../src/venue/index.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// Issue 21, equities.outside_positions: adopt. Positions at the broker that the journal does not explain become this
// client's own at start - journaled with the broker's average entry, counted in exposure, sold by exit signals,
// reconciled like any other - once, and only when the friend asks for it.

const ok = { ok: true } as const;
const never = Object.fromEntries(Object.keys(WARM_FACTS).map((f) => [f, 3_600_000])) as Record<
  WarmFact,
  number
>;
let emu: AlpacaEmulator;
let dir: string;
let journal: Journal;
const closers: (() => Promise<void> | void)[] = [];
let seq = 0;
const sig = (over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'LOWP', price: 3, ...over } as Partial<Signal>, emu.now()) as Signal;

beforeEach(async () => {
  emu = await startAlpacaEmulator(); // Monday 10:00 New York
  dir = mkdtempSync(join(tmpdir(), 'cc-adopt-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A live us_equity driver with its warm state read once (what `run` builds at start). */
async function start(policy?: string) {
  const config: Config = testConfig({
    mode: 'live',
    exchange: { venue: 'us_equity', timeout_ms: 3000, alpaca: { endpoint: 'live', base_url: emu.url } },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 5000, max_total_exposure_quote: 9000 },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    execution: { protective_orders: 'off' },
    ...(policy ? { equities: { outside_positions: policy } } : {}),
  } as never);
  const ex = await AlpacaAdapter.create({
    config,
    secrets: {
      serverKey: undefined,
      exchangeApiKey: emu.keyId,
      exchangeSecret: emu.secret,
      exchangePassword: undefined,
    },
    rateLimitMs: 1,
  });
  closers.push(() => ex.close());
  await ex.loadMarkets();
  const now = () => emu.now();
  const state = new AccountState();
  const refresh: AccountRefresh = startAccountRefresh(ex, state, { log: testLog, now, schedule: never });
  closers.push(() => refresh.stop());
  await refresh.refreshAll();
  const venue = alpacaDriver({ config, journal, log: testLog, now }, ex, state);
  const executor = new Executor(journal, ex, config, testLog, now);
  return { config, refresh, deps: { config, journal, venue, executor, log: testLog, now } };
}

describe('equities.outside_positions: adopt (Alpaca emulator, real ccxt)', () => {
  it('adopts what the broker holds and the journal cannot explain, once across restarts; status shows it', async () => {
    emu.setPosition('LOWP', 10, 3); // bought by hand before the client ever ran
    const { config, deps } = await start('adopt');
    const [row, ...more] = deps.venue.adoptOutside!(emu.now());
    expect(more).toEqual([]);
    expect(row).toMatchObject({ symbol: 'LOWP', qty: 10, avg_price: 3 });
    expect(journal.positions()).toEqual([{ market: 'LOWP', amount: 10, cost: 30 }]);
    const change = journal.changesAfter(0).find((c) => c.kind === 'adoption');
    expect(change).toMatchObject({ symbol: 'LOWP', data: { id: row!.id, qty: 10, avg_price: 3 } });
    // Reconciliation compares them like any other position: equal now, nothing held outside.
    expect(await deps.venue.reconcilePositions!(emu.now())).toEqual([]);

    const ctx = { config, configPath: join(dir, 'c.yaml'), journalPath: join(dir, 'j.sqlite') } as Context;
    expect(statusCommand(ctx, {})).toContain('\n  LOWP  10  cost 30.00 (adopted 10 at 3.00)');
    const status = JSON.parse(statusCommand(ctx, { json: true }));
    expect(status.adopted).toMatchObject([{ symbol: 'LOWP', qty: 10, avg_price: 3 }]);
    expect(status.today.exposure).toBe(30); // counted in exposure
    expect(historyCommand(ctx, {})).toMatch(/ {2}adopted {2}LOWP +10 at 3 \(held at the broker at start/);
    expect(historyCommand(ctx, { symbol: 'AAPL' })).toBe('(no decisions)');

    // A restart: the journal holds them now, nothing is adopted again.
    journal.close();
    journal = Journal.open(join(dir, 'j.sqlite'));
    const again = await start('adopt');
    expect(again.deps.venue.adoptOutside!(emu.now())).toEqual([]);
    expect(journal.adoptions()).toHaveLength(1);
    expect(journal.positions()).toEqual([{ market: 'LOWP', amount: 10, cost: 30 }]);
  });

  it('an exit signal sells adopted shares; selling them in the broker app is an incident like any other', async () => {
    emu.setPosition('LOWP', 10, 3);
    emu.setPosition('PNNY', 5, 4);
    const { deps, refresh } = await start('adopt');
    deps.venue.adoptOutside!(emu.now());
    await deps.venue.reconcilePositions!(emu.now());
    const exit = await processSignal(deps, sig({ action: 'exit' }), ok, emu.now());
    expect(exit.decision.reason).toBe('trade:exit');
    const sell = emu.posted(exit.intents[0]!.client_order_id);
    expect(sell).toHaveLength(1);
    expect(sell[0]!.body).toMatchObject({ side: 'sell', qty: '10' });

    emu.setPosition('PNNY', 0, 0); // sold outside the client: they are the client's own now
    emu.advanceClock(1000);
    await refresh.refreshAll();
    expect((await deps.venue.reconcilePositions!(emu.now())).map((i) => [i.symbol, i.kind])).toEqual([
      ['PNNY', 'broker_has_less'],
    ]);
  });

  it('without the setting nothing is adopted (default ignore): the shares stay outside the journal', async () => {
    emu.setPosition('LOWP', 10, 3);
    const { deps } = await start();
    expect(deps.venue.adoptOutside).toBeUndefined();
    expect(await deps.venue.reconcilePositions!(emu.now())).toEqual([]);
    expect(journal.positions()).toEqual([]);
    expect(journal.adoptions()).toEqual([]);
  });
});
