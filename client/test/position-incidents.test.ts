import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import type { Context } from '../src/context.js';
import { incidentsCommand, statusCommand } from '../src/commands/inspect.js';
import { positionIncidents } from '../src/decide/reconcile.js';
import { startAccountRefresh, type AccountRefresh } from '../src/exchange/account-refresh.js';
import { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { Executor } from '../src/executor.js';
import { Journal, SCHEMA_VERSION } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { AccountState, WARM_FACTS, type WarmFact } from '../src/venue/account-state.js';
import { alpacaDriver } from '../src/venue/index.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// Issue 21, reconciliation of positions: the journal's positions against the broker's. A difference the journal
// cannot explain is journaled once as an incident, shown by `status` and `incidents`, and its symbol is never
// traded around (entries and exits skipped:incident) until the friend acknowledges it.

describe('positionIncidents (pure)', () => {
  const pos = (market: string, amount: number) => ({ market, amount, cost: amount * 10 });
  const base = {
    outsideAtStart: new Map<string, number>(),
    busy: new Set<string>(),
    legs: new Set<string>(),
  };

  it('flags a sale outside the client and a split; leaves outside holdings, busy symbols and leg fills alone', () => {
    const found = positionIncidents({
      ...base,
      journal: [pos('SOLD', 10), pos('SPLT', 10), pos('BUSY', 5), pos('LEGS', 5), pos('SAME', 3)],
      broker: [
        { symbol: 'SPLT', qty: 20 },
        { symbol: 'BUSY', qty: 0 },
        { symbol: 'SAME', qty: 3 },
        { symbol: 'MINE', qty: 7 }, // held outside, this client has none
      ],
      busy: new Set(['BUSY']),
      legs: new Set(['LEGS']),
    });
    expect(found.map((f) => [f.symbol, f.kind, f.journalQty, f.brokerQty])).toEqual([
      ['SOLD', 'broker_has_less', 10, 0],
      ['SPLT', 'broker_has_more', 10, 20],
    ]);
  });

  it('shares held outside at start are sold first: selling them is not an incident, selling ours is', () => {
    const outsideAtStart = new Map([['AAPL', 4]]);
    const journal = [pos('AAPL', 10)];
    expect(
      positionIncidents({ ...base, outsideAtStart, journal, broker: [{ symbol: 'AAPL', qty: 10 }] }),
    ).toEqual([]);
    expect(
      positionIncidents({ ...base, outsideAtStart, journal, broker: [{ symbol: 'AAPL', qty: 9 }] }).map(
        (f) => f.kind,
      ),
    ).toEqual(['broker_has_less']);
  });
});

describe('position reconciliation, live us_equity (Alpaca emulator)', () => {
  const ok = { ok: true } as const;
  const never = Object.fromEntries(Object.keys(WARM_FACTS).map((f) => [f, 3_600_000])) as Record<
    WarmFact,
    number
  >;
  let emu: AlpacaEmulator;
  let dir: string;
  let journal: Journal;
  let ex: AlpacaAdapter;
  let refresh: AccountRefresh;
  let seq = 0;
  const sig = (over: Record<string, unknown> = {}) =>
    baseSignal(++seq, { symbol: 'AAPL', price: 200, ...over } as Partial<Signal>, emu.now()) as Signal;

  beforeEach(async () => {
    emu = await startAlpacaEmulator(); // Monday 10:00 New York
    dir = mkdtempSync(join(tmpdir(), 'cc-incident-'));
    journal = Journal.open(join(dir, 'j.sqlite'));
  });
  afterEach(async () => {
    refresh?.stop();
    await ex?.close();
    journal.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup() {
    const config: Config = testConfig({
      mode: 'live',
      exchange: { venue: 'us_equity', timeout_ms: 3000, alpaca: { endpoint: 'live', base_url: emu.url } },
      risk: {
        cooldown_per_symbol_ms: 0,
        max_exposure_per_symbol_quote: 5000,
        max_total_exposure_quote: 9000,
      },
      sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
      // A simple market entry: no bracket legs that could explain a difference.
      execution: { protective_orders: 'off' },
    } as never);
    ex = await AlpacaAdapter.create({
      config,
      secrets: {
        serverKey: undefined,
        exchangeApiKey: emu.keyId,
        exchangeSecret: emu.secret,
        exchangePassword: undefined,
      },
      rateLimitMs: 1,
    });
    await ex.loadMarkets();
    const now = () => emu.now();
    const state = new AccountState();
    refresh = startAccountRefresh(ex, state, { log: testLog, now, schedule: never });
    await refresh.refreshAll();
    const venue = alpacaDriver({ config, journal, log: testLog, now }, ex, state);
    const executor = new Executor(journal, ex, config, testLog, now);
    return { config, deps: { config, journal, venue, executor, log: testLog, now } };
  }

  it('a sale in the broker app is an incident: shown, AAPL skipped (no request) until acknowledged', async () => {
    emu.setPosition('LOWP', 10, 3); // held outside the client before it starts
    const { config, deps } = await setup();
    expect(deps.venue.reconcilePositions!(emu.now())).toEqual([]); // start: LOWP is the friend's own
    const entry = await processSignal(deps, sig(), ok, emu.now());
    expect(entry.decision.reason).toBe('trade:entry');
    emu.fill(entry.intents[0]!.client_order_id);
    await deps.executor.reconcileAll(); // the fill read back
    const held = journal.positions().find((p) => p.market === 'AAPL')!.amount;
    expect(held).toBeGreaterThan(0);
    emu.advanceClock(1000);
    await refresh.refreshAll();
    expect(deps.venue.reconcilePositions!(emu.now())).toEqual([]); // journal = broker

    emu.setPosition('AAPL', 0, 0); // sold in Alpaca's app
    emu.setPosition('LOWP', 4, 3); // the friend sells some of their own: not an incident
    emu.advanceClock(1000);
    await refresh.refreshAll();
    const found = deps.venue.reconcilePositions!(emu.now());
    expect(found.map((f) => [f.symbol, f.kind, f.journalQty, f.brokerQty])).toEqual([
      ['AAPL', 'broker_has_less', held, 0],
    ]);
    expect(deps.venue.reconcilePositions!(emu.now())).toEqual([]); // journaled once
    const [incident] = journal.openIncidents();

    emu.requests.splice(0);
    for (const s of [sig(), sig({ action: 'exit' })]) {
      const d = (await processSignal(deps, s, ok, emu.now())).decision;
      expect(d).toMatchObject({ verdict: 'skip', reason: 'skipped:incident' });
      expect(d.detail).toContain(`incidents --ack ${incident!.id}`);
    }
    expect(emu.requests).toEqual([]);

    const ctx = { config, configPath: join(dir, 'c.yaml'), journalPath: join(dir, 'j.sqlite') } as Context;
    expect(statusCommand(ctx, {})).toMatch(new RegExp(`POSITION INCIDENTS[^\\n]*\\n  #${incident!.id} AAPL`));
    expect(JSON.parse(statusCommand(ctx, { json: true })).incidents).toMatchObject([
      {
        id: incident!.id,
        symbol: 'AAPL',
        kind: 'broker_has_less',
        journal_qty: held,
        broker_qty: 0,
        acked_at: null,
      },
    ]);
    expect(incidentsCommand(ctx, {})).toMatch(/AAPL +OPEN +the broker holds 0 AAPL/);
    expect(() => incidentsCommand(ctx, { ack: '999' })).toThrow(/no incident #999/);
    expect(incidentsCommand(ctx, { ack: String(incident!.id) })).toMatch(
      /position is now the broker's 0; AAPL trades again/,
    );
    expect(incidentsCommand(ctx, { ack: String(incident!.id) })).toMatch(/already acknowledged/);

    expect(journal.positions().find((p) => p.market === 'AAPL')).toBeUndefined();
    expect(deps.venue.reconcilePositions!(emu.now())).toEqual([]);
    expect((await processSignal(deps, sig(), ok, emu.now())).decision.reason).toBe('trade:entry');
    expect(journal.schemaVersion()).toBe(SCHEMA_VERSION);
  });

  it('shares added outside in a symbol this client holds (a split) are an incident; after ack they count as outside', async () => {
    const { deps } = await setup();
    deps.venue.reconcilePositions!(emu.now());
    const entry = await processSignal(deps, sig(), ok, emu.now());
    emu.fill(entry.intents[0]!.client_order_id);
    await deps.executor.reconcileAll();
    const held = journal.positions().find((p) => p.market === 'AAPL')!.amount;
    emu.setPosition('AAPL', held * 2, 100); // a 2:1 split
    emu.advanceClock(1000);
    await refresh.refreshAll();
    expect(deps.venue.reconcilePositions!(emu.now()).map((f) => f.kind)).toEqual(['broker_has_more']);
    journal.ackIncident(journal.openIncidents()[0]!.id, emu.now());
    expect(deps.venue.reconcilePositions!(emu.now())).toEqual([]);
    expect(journal.openIncidents()).toEqual([]);
  });
});
