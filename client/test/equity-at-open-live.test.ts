import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { AtOpen } from '../src/at-open.js';
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
import { AccountState, WARM_FACTS, type WarmFact } from '../src/venue/account-state.js';
import { startAccountRefresh } from '../src/exchange/account-refresh.js';

// The regular open on a live us_equity config through the real ccxt.alpaca against the emulator: the broker's
// clock and calendar say when it opens; a held entry is sent once, protection is an OCO exit pair sent once,
// even with a restart (a new journal handle and adapter) in between.

let emu: AlpacaEmulator;
let ex: AlpacaAdapter | undefined;
let dir: string;
let path: string;
let journal: Journal;
const ok = { ok: true } as const;

async function setup(equities: Record<string, unknown>, state?: AccountState) {
  await ex?.close();
  const config: Config = testConfig({
    mode: 'live',
    exchange: { venue: 'us_equity', timeout_ms: 1500, alpaca: { endpoint: 'live', base_url: emu.url } },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 2000, max_total_exposure_quote: 5000 },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
    equities,
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
  const executor = new Executor(journal, ex, config, testLog, now);
  return {
    config,
    journal,
    exchange: ex,
    venue: alpacaDriver({ config, journal, log: testLog, now }, ex, state),
    executor,
    log: testLog,
    now,
  };
}
let seq = 0;
const sig = (over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'AAPL', price: 200, ...over } as Partial<Signal>, emu.now()) as Signal;
const posts = () => emu.requests.filter((r) => r.method === 'POST' && r.path === '/v2/orders');

beforeEach(async () => {
  emu = await startAlpacaEmulator({ now: '2026-11-23T08:00' });
  dir = mkdtempSync(join(tmpdir(), 'cc-eqol-'));
  path = join(dir, 'j.sqlite');
  journal = Journal.open(path);
});
afterEach(async () => {
  await ex?.close();
  ex = undefined;
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('us_equity at the open, live (Alpaca emulator)', () => {
  it('hold_until_open: nothing sent before the broker opens; one bracket entry at the open, once', async () => {
    const hold = { session_policy: 'hold_until_open' };
    let d = await setup(hold);
    const s = sig({ stop_loss: 190, take_profit: 220 });
    expect((await processSignal(d, s, ok, emu.now())).decision.reason).toBe('deferred:until_open');
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'pre', redecided: 0 });
    expect(posts()).toEqual([]);

    emu.setClock('2026-11-23T09:31');
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'regular', redecided: 1 });
    const [entry] = journal.intentsFor(s.epoch, s.seq);
    expect(emu.posted(entry!.client_order_id)).toHaveLength(1);
    expect(emu.posted(entry!.client_order_id)[0]!.body).toMatchObject({
      order_class: 'bracket',
      side: 'buy',
    });

    journal.close();
    journal = Journal.open(path);
    d = await setup(hold);
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 0 });
    expect(posts()).toHaveLength(1);
  });

  it('an extended-hours fill gets one OCO exit pair at the open, with our id, once across a restart', async () => {
    const ext = { session_policy: 'extended', limit_slippage_pct: 1 };
    let d = await setup(ext);
    const s = sig({ stop_loss: 190, take_profit: 220 });
    const out = await processSignal(d, s, ok, emu.now());
    const entry = out.intents[0]!;
    emu.fill(entry.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    expect(journal.intent(entry.client_order_id)).toMatchObject({ status: 'filled', filled: 4 });
    // Pre-market: a stop could not trade and an OCO is not accepted in extended hours, so nothing yet.
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'pre', protectedOrders: 0 });

    emu.setClock('2026-11-23T09:30');
    const lines: string[] = [];
    expect(await new AtOpen(d, (l) => lines.push(l)).check()).toMatchObject({ protectedOrders: 1 });
    const p = journal.intentsFor(s.epoch, s.seq).find((i) => i.leg === 'protect')!;
    expect(p.status).toBe('open');
    const [post] = emu.posted(p.client_order_id);
    expect(post!.body).toMatchObject({
      symbol: 'AAPL',
      side: 'sell',
      type: 'limit',
      qty: '4',
      time_in_force: 'gtc',
      order_class: 'oco',
      take_profit: { limit_price: '220.00' },
      stop_loss: { stop_price: '190.00' },
    });
    expect(lines).toEqual([
      'protection placed at the open: OCO sell 4 AAPL take-profit 220 / stop 190 (open)',
    ]);
    // The broker holds the 4 shares for the pair: both sides live, the shares promised once.
    expect(emu.order(p.client_order_id)!.legs).toHaveLength(1);

    journal.close();
    journal = Journal.open(path);
    d = await setup(ext);
    expect(await new AtOpen(d).check()).toMatchObject({ protectedOrders: 0 });
    await d.executor.reconcileAll();
    expect(emu.posted(p.client_order_id)).toHaveLength(1);

    // An exit signal cancels the pair first (our id), then sells the 4 shares.
    const x = await processSignal(d, sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    expect(x.decision.reason).toBe('trade:exit');
    expect(emu.posted(x.intents[0]!.client_order_id)[0]!.body).toMatchObject({ side: 'sell', qty: '4' });
    expect(emu.order(p.client_order_id)!.status).toBe('canceled');
    expect(emu.order(p.client_order_id)!.legs[0]!.status).toBe('canceled');
  });

  it('the OCO stop fires; a later exit signal sells nothing (never a short) and the pair is gone', async () => {
    emu.setAccount({ shorting_enabled: true });
    const ext = { session_policy: 'extended', limit_slippage_pct: 1 };
    const d = await setup(ext);
    const s = sig({ stop_loss: 190, take_profit: 220 });
    const entry = (await processSignal(d, s, ok, emu.now())).intents[0]!;
    emu.fill(entry.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    emu.setClock('2026-11-23T09:31');
    await new AtOpen(d).check();
    const p = journal.intentsFor(s.epoch, s.seq).find((i) => i.leg === 'protect')!;
    emu.setQuote('AAPL', { bid: 188, ask: 188.1, last: 188 });
    expect(emu.order(p.client_order_id)!.legs[0]!.status).toBe('filled');
    expect(emu.order(p.client_order_id)!.status).toBe('canceled');
    const posts = emu.requests.filter((r) => r.method === 'POST').length;
    const x = await processSignal(d, sig({ action: 'exit', direction: 'neutral' }), ok, emu.now());
    // The exit asked the broker first (journal and broker disagreed): the stop's sale is journaled, nothing is sold.
    expect(x.decision.reason).toBe('skipped:no_holdings');
    expect(x.intents).toEqual([]);
    expect(emu.requests.filter((r) => r.method === 'POST').length).toBe(posts);
    expect(journal.positions()).toEqual([]);
  });

  it('a plain stop when only the stop level is known', async () => {
    const ext = { session_policy: 'extended', limit_slippage_pct: 1 };
    const d = await setup(ext);
    const s = sig({ stop_loss: 190 });
    const entry = (await processSignal(d, s, ok, emu.now())).intents[0]!;
    emu.fill(entry.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    emu.setClock('2026-11-23T09:45');
    await new AtOpen(d).check();
    const p = journal.intentsFor(s.epoch, s.seq).find((i) => i.leg === 'protect')!;
    expect(p.status).toBe('open');
    expect(emu.posted(p.client_order_id)[0]!.body).toMatchObject({
      type: 'stop',
      side: 'sell',
      qty: '4',
      stop_price: '190.00',
      time_in_force: 'gtc',
    });
  });

  it('protection is never sized above what the broker holds: a sale outside the client waits for reconciliation and ack', async () => {
    // Found by a chaos run: 1 share sold in the broker's app, the client sized the open's protection from its
    // journal (1 above the broker's count), the broker refused it and the entry stayed unprotected.
    const ext = { session_policy: 'extended', limit_slippage_pct: 1 };
    const state = new AccountState();
    const d = await setup(ext, state);
    const never = Object.fromEntries(Object.keys(WARM_FACTS).map((f) => [f, 3_600_000])) as Record<
      WarmFact,
      number
    >;
    const refresh = startAccountRefresh(ex!, state, { log: testLog, now: d.now, schedule: never });
    try {
      await refresh.refreshAll();
      const s = sig({ stop_loss: 190, take_profit: 220 });
      const entry = (await processSignal(d, s, ok, emu.now())).intents[0]!;
      emu.fill(entry.client_order_id, { price: 200 });
      await d.executor.reconcileAll();
      expect(journal.positions()).toEqual([{ market: 'AAPL', amount: 4, cost: 800 }]);
      emu.appSell('AAPL', 1); // pre-market, in Alpaca's app: nothing rests, nothing of the client's explains it
      emu.setClock('2026-11-23T09:30');
      await refresh.refreshAll();
      const lines: string[] = [];
      const atOpen = new AtOpen(d, (l) => lines.push(l));
      expect(await atOpen.check()).toMatchObject({ protectedOrders: 0 });
      expect(await atOpen.check()).toMatchObject({ protectedOrders: 0 });
      expect(posts().filter((r) => (r.body as { side?: string }).side === 'sell')).toEqual([]);
      expect(lines).toEqual([
        "protection for AAPL not placed: the broker holds 3 AAPL, this client's journal 4: waiting for reconciliation",
      ]); // said once, not on every look
      expect(journal.intentsFor(s.epoch, s.seq).map((i) => i.leg)).toEqual(['entry']); // nothing journaled

      // Reconciliation: seen, caught up, seen again on a newer read: an incident; the open still places nothing.
      expect(await d.venue.reconcilePositions!(emu.now())).toEqual([]);
      emu.advanceClock(1000);
      await refresh.refreshAll();
      expect((await d.venue.reconcilePositions!(emu.now())).map((i) => i.brokerQty)).toEqual([3]);
      const [incident] = journal.openIncidents();
      expect(await atOpen.check()).toMatchObject({ protectedOrders: 0 });
      expect(lines[1]).toContain(`position incident #${incident!.id}`);

      // The friend acknowledges: the journal holds the broker's 3, and those 3 are protected.
      journal.ackIncident(incident!.id, emu.now());
      expect(await atOpen.check()).toMatchObject({ protectedOrders: 1 });
      const p = journal.intentsFor(s.epoch, s.seq).find((i) => i.leg === 'protect')!;
      expect(emu.posted(p.client_order_id)[0]!.body).toMatchObject({
        side: 'sell',
        qty: '3',
        order_class: 'oco',
      });
    } finally {
      refresh.stop();
    }
  });
});
