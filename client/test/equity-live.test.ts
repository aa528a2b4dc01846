import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../src/config.js';
import { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { alpacaDriver } from '../src/venue/index.js';

// A live us_equity config end to end: pipeline -> equity rules (the BROKER's calendar, clock, asset flags and
// buying power, read through the real ccxt.alpaca) -> journal -> executor -> Alpaca emulator on 127.0.0.1.

let emu: AlpacaEmulator;
let ex: AlpacaAdapter;
let dir: string;
let journal: Journal;
const ok = { ok: true } as const;

async function setup(over: Record<string, unknown> = {}) {
  const config: Config = testConfig({
    mode: 'live',
    exchange: { venue: 'us_equity', timeout_ms: 1500, alpaca: { endpoint: 'live', base_url: emu.url } },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 2000, max_total_exposure_quote: 5000 },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    ...over,
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
    cancelSettleMs: 2000,
  });
  await ex.loadMarkets();
  const now = () => emu.now();
  return {
    config,
    journal,
    exchange: ex,
    venue: alpacaDriver({ config, journal, log: testLog, now }, ex),
    executor: new Executor(journal, ex, config, testLog, now),
    log: testLog,
    now,
  };
}
let seq = 0;
const sig = (over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'AAPL', price: 200, ...over } as Partial<Signal>, emu.now()) as Signal;

beforeEach(async () => {
  emu = await startAlpacaEmulator(); // Monday 2026-11-23 10:00 New York
  dir = mkdtempSync(join(tmpdir(), 'cc-eql-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  await ex?.close();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('us_equity live (Alpaca emulator)', () => {
  it('regular hours: one bracket entry with our id and whole shares; an exit cancels its legs and sells', async () => {
    const d = await setup();
    const out = await processSignal(d, sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    expect(out.decision.reason).toBe('trade:entry');
    const i = out.intents[0]!;
    const [post] = emu.posted(i.client_order_id);
    expect(post!.body).toMatchObject({
      symbol: 'AAPL',
      side: 'buy',
      type: 'market',
      time_in_force: 'gtc',
      order_class: 'bracket',
      take_profit: { limit_price: '220.00' },
      stop_loss: { stop_price: '190.00' },
      qty: String(Math.floor(1000 / (200 * 1.01))),
    });
    expect(post!.body?.['extended_hours']).toBeUndefined();

    // The broker fills the entry; reconcile records it; then an exit signal sells exactly that.
    emu.fill(i.client_order_id);
    await d.executor.reconcileAll();
    expect(journal.positions()).toEqual([{ market: 'AAPL', amount: 4, cost: expect.any(Number) }]);
    const exit = await processSignal(d, sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    expect(exit.decision.reason).toBe('trade:exit');
    const x = exit.intents[0]!;
    expect(emu.posted(x.client_order_id)[0]!.body).toMatchObject({ side: 'sell', qty: '4' });
    // Its bracket legs were cancelled first, so the sell was not refused for held shares.
    const legs = emu.order(i.client_order_id)!.legs ?? [];
    expect(legs.length).toBe(2);
    for (const l of legs) expect(l.status).toBe('canceled');
  });

  it('info, avoid and a paused entry are decided without reading the broker (its reads are paced)', async () => {
    const d = await setup();
    const before = emu.requests.length;
    expect(
      (await processSignal(d, sig({ action: 'info', direction: 'neutral' }), ok, emu.now())).decision.reason,
    ).toBe('skipped:action_info');
    expect((await processSignal(d, sig({ action: 'avoid' }), ok, emu.now())).decision.reason).toBe(
      'skipped:avoid_signal',
    );
    journal.setKillSwitch('test');
    expect((await processSignal(d, sig(), ok, emu.now())).decision.reason).toBe('skipped:kill_switch');
    expect(emu.requests.slice(before).map((r) => r.path)).toEqual([]);
    // An entry does read the broker (calendar, clock, asset, account, quote, positions).
    journal.setKillSwitch(undefined);
    await processSignal(d, sig(), ok, emu.now());
    expect(emu.requests.length).toBeGreaterThan(before);
    // A second entry reads everything again but the calendar (cached for an hour).
    await processSignal(d, sig({ symbol: 'MSFT' }), ok, emu.now());
    const calendarReads = emu.requests.slice(before).filter((r) => r.path === '/v2/calendar');
    expect(calendarReads).toHaveLength(1);
  });

  it('pre-market: extended policy sends a DAY limit with extended_hours; regular_only skips with a reason', async () => {
    emu.setClock('2026-11-23T08:00');
    const strict = await setup();
    expect((await processSignal(strict, sig(), ok, emu.now())).decision.reason).toBe(
      'skipped:outside_regular_hours',
    );
    await ex.close();
    const d = await setup({ equities: { session_policy: 'extended', limit_slippage_pct: 1 } });
    const out = await processSignal(d, sig({ stop_loss: 190, take_profit: 220 }), ok, emu.now());
    expect(out.decision.reason).toBe('trade:entry');
    expect(emu.posted(out.intents[0]!.client_order_id)[0]!.body).toMatchObject({
      type: 'limit',
      limit_price: '202',
      time_in_force: 'day',
      extended_hours: true,
    });
    expect(emu.posted(out.intents[0]!.client_order_id)[0]!.body?.['order_class']).toBeUndefined();
  });

  it("a non-tradable asset and the broker's holiday are skipped with their reasons; nothing is sent", async () => {
    const d = await setup();
    // Alpaca shows a halt only as fills that stop; an asset it marks not tradable is what the rules can see.
    emu.setAsset('AAPL', { tradable: false });
    expect((await processSignal(d, sig(), ok, emu.now())).decision.reason).toBe('skipped:not_tradable');
    emu.setAsset('AAPL', { tradable: true });
    emu.setClock('2026-11-26T11:00'); // Thanksgiving
    expect((await processSignal(d, sig(), ok, emu.now())).decision.reason).toBe('skipped:market_closed');
    expect(emu.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});
