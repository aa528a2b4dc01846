import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { AtOpen } from '../src/at-open.js';
import { Approvals } from '../src/approvals.js';
import type { Config } from '../src/config.js';
import { PaperAdapter } from '../src/exchange/paper.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { paperVenue } from '../src/venue/index.js';

// The regular open on a us_equity paper config, offline (built-in calendar), with an injected clock: held
// signals decided again exactly once through the same rules, protection placed once for extended-hours entries,
// both driven by the journal alone so a restart in between changes nothing.

let dir: string;
let path: string;
let journal: Journal;
const ok = { ok: true } as const;
const MON_0800_ET = Date.parse('2026-11-23T13:00:00Z');
const MON_0900_ET = Date.parse('2026-11-23T14:00:00Z');
const MON_0931_ET = Date.parse('2026-11-23T14:31:00Z');
const MON_1000_ET = Date.parse('2026-11-23T15:00:00Z');

interface Clock {
  at: number;
}

function deps(clock: Clock, over: Record<string, unknown> = {}, equities: Record<string, unknown> = {}) {
  const config: Config = testConfig({
    exchange: { venue: 'us_equity' },
    risk: { cooldown_per_symbol_ms: 0, max_exposure_per_symbol_quote: 1000 },
    sizing: { fixed_quote: 100, max_quote_per_trade: 500 },
    equities: { session_policy: 'hold_until_open', ...equities },
    ...over,
  } as never);
  const now = () => clock.at;
  const exchange = new PaperAdapter(journal, config);
  const executor = new Executor(journal, exchange, config, testLog, now);
  const venue = paperVenue({ config, journal, log: testLog, now }, exchange);
  return { config, journal, exchange, venue, executor, log: testLog, now };
}
let seq = 0;
const sig = (now: number, over: Record<string, unknown> = {}) =>
  baseSignal(++seq, { symbol: 'ACME', price: 12.34, ...over } as Partial<Signal>, now) as Signal;

/** Close and reopen the journal file, as a restart does. */
function restart(): void {
  journal.close();
  journal = Journal.open(path);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-eqo-'));
  path = join(dir, 'j.sqlite');
  journal = Journal.open(path);
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('us_equity at the open (paper)', () => {
  it('a held entry is decided again once at the open, never before it, never twice across a restart', async () => {
    const clock = { at: MON_0800_ET };
    const s = sig(MON_0800_ET, { stop_loss: 11.5, take_profit: 14.01 });
    const first = await processSignal(deps(clock), s, ok, clock.at);
    expect(first.decision.reason).toBe('deferred:until_open');
    expect(journal.intentsFor(s.epoch, s.seq)).toEqual([]);

    const lines: string[] = [];
    clock.at = MON_0900_ET; // pre-market: still held
    expect(await new AtOpen(deps(clock), (l) => lines.push(l)).check()).toMatchObject({
      session: 'pre',
      redecided: 0,
    });
    expect(journal.heldSignals()).toHaveLength(1);

    clock.at = MON_0931_ET;
    const d = deps(clock);
    const atOpen = new AtOpen(d, (l) => lines.push(l));
    // Timer and signal looking at once share one look: one decision.
    const [a, b] = await Promise.all([atOpen.check(), atOpen.check()]);
    expect(a).toBe(b);
    expect(a).toMatchObject({ session: 'regular', redecided: 1 });
    expect(journal.redecision(s.epoch, s.seq)).toMatchObject({ verdict: 'trade', reason: 'trade:entry' });
    const intents = journal.intentsFor(s.epoch, s.seq).filter((i) => i.leg === 'entry');
    expect(intents).toHaveLength(1);
    // The regular session's shape: a bracket, decided now, not the pre-market plan.
    expect(intents[0]).toMatchObject({ leg: 'entry', status: 'filled', side: 'buy' });
    expect(JSON.parse(intents[0]!.order_params!)).toMatchObject({ orderClass: 'bracket' });
    // Its legs rest at the (paper) broker, journaled to follow their fills.
    expect(journal.intentsFor(s.epoch, s.seq).map((i) => [i.leg, i.status])).toEqual([
      ['bracket_sl', 'open'],
      ['bracket_tp', 'open'],
      ['entry', 'filled'],
    ]);
    expect(lines.join('\n')).toMatch(/held until the open, decided again: trade:entry/);

    restart();
    clock.at = MON_1000_ET;
    expect(await new AtOpen(deps(clock)).check()).toMatchObject({ redecided: 0, expired: 0 });
    expect(journal.intentsFor(s.epoch, s.seq)).toHaveLength(3);
    expect(journal.heldSignals()).toEqual([]);
  });

  it('approval mode: an entry held until the open waits for approval there, then is placed once', async () => {
    const clock = { at: MON_0800_ET };
    const approval = { approval: { mode: 'required', timeout_ms: 600_000 } };
    const s = sig(MON_0800_ET);
    expect((await processSignal(deps(clock, approval), s, ok, clock.at)).decision.reason).toBe(
      'deferred:until_open',
    );
    clock.at = MON_0931_ET;
    const lines: string[] = [];
    expect(await new AtOpen(deps(clock, approval), (l) => lines.push(l)).check()).toMatchObject({
      redecided: 0,
    });
    expect(lines.join('\n')).toMatch(/now waiting for approval: buy/);
    expect(journal.intentsFor(s.epoch, s.seq)).toEqual([]);
    expect(journal.heldSignals()).toEqual([]);
    expect(journal.approvals.get(s.epoch, s.seq)).toMatchObject({ state: 'pending' });
    // A second look at the open neither asks again nor places it.
    restart();
    await new AtOpen(deps(clock, approval)).check();
    expect(journal.intentsFor(s.epoch, s.seq)).toEqual([]);

    clock.at = MON_0931_ET + 60_000;
    expect(journal.approvals.answer(s.epoch, s.seq, 'approved', 'test', clock.at)).toBe('done');
    expect(await new Approvals(deps(clock, approval)).check()).toBe(1);
    expect(journal.redecision(s.epoch, s.seq)).toMatchObject({ reason: 'trade:entry' });
    expect(journal.intentsFor(s.epoch, s.seq).filter((i) => i.leg === 'entry')).toHaveLength(1);
    expect(await new Approvals(deps(clock, approval)).check()).toBe(0);
    expect(journal.intentsFor(s.epoch, s.seq).filter((i) => i.leg === 'entry')).toHaveLength(1);
  });

  it('paused at the open: decided once as skipped:kill_switch, no order, not decided again after resume', async () => {
    const clock = { at: MON_0800_ET };
    const s = sig(MON_0800_ET);
    await processSignal(deps(clock), s, ok, clock.at);
    journal.setKillSwitch('test pause');
    clock.at = MON_0931_ET;
    expect(await new AtOpen(deps(clock)).check()).toMatchObject({ redecided: 1 });
    expect(journal.redecision(s.epoch, s.seq)).toMatchObject({ reason: 'skipped:kill_switch' });
    journal.setKillSwitch(undefined);
    expect(await new AtOpen(deps(clock)).check()).toMatchObject({ redecided: 0 });
    expect(journal.allIntents()).toEqual([]);
  });

  it('over a limit at the open: the same filters and limits apply (price band, risk caps)', async () => {
    const clock = { at: MON_0800_ET };
    const band = sig(MON_0800_ET, { price: 25 });
    await processSignal(deps(clock), band, ok, clock.at);
    const capped = sig(MON_0800_ET, { symbol: 'BETA' });
    await processSignal(deps(clock), capped, ok, clock.at);
    clock.at = MON_0931_ET;
    // At the open the user's config says max_price 20 and no more than 0 orders a day.
    const d = deps(clock, { risk: { cooldown_per_symbol_ms: 0, max_orders_per_day: 0 } }, { max_price: 20 });
    await new AtOpen(d).check();
    expect(journal.redecision(band.epoch, band.seq)?.reason).toBe('skipped:price_band');
    expect(journal.redecision(capped.epoch, capped.seq)?.reason).toBe('skipped:max_orders_per_day');
    expect(journal.allIntents()).toEqual([]);
  });

  it('past its hold age (or expires_at) when looked at: skipped with a catalogue reason, never traded', async () => {
    const clock = { at: MON_0800_ET };
    const old = sig(MON_0800_ET);
    const exp = sig(MON_0800_ET, { expires_at: new Date(MON_0800_ET + 2 * 3_600_000).toISOString() });
    await processSignal(deps(clock), old, ok, clock.at);
    expect((await processSignal(deps(clock), exp, ok, clock.at)).decision.reason).toBe('deferred:until_open');
    // The client was down over the open; it looks again at 10:01, past both ages.
    clock.at = MON_1000_ET + 60_000;
    const r = await new AtOpen(deps(clock, {}, { hold_max_age_ms: 2 * 3_600_000 })).check();
    expect(r).toMatchObject({ session: 'regular', expired: 2, redecided: 0 });
    expect(journal.redecision(old.epoch, old.seq)).toMatchObject({ reason: 'skipped:open_too_late' });
    expect(journal.redecision(exp.epoch, exp.seq)).toMatchObject({ reason: 'skipped:expired' });
    expect(journal.allIntents()).toEqual([]);
  });

  it('an extended-hours entry with levels gets one OCO at the open, once across a restart', async () => {
    const clock = { at: MON_0800_ET };
    const s = sig(MON_0800_ET, { stop_loss: 11.5, take_profit: 14.01 });
    const ext = { session_policy: 'extended' };
    const entry = await processSignal(deps(clock, {}, ext), s, ok, clock.at);
    expect(entry.intents[0]).toMatchObject({ status: 'filled', type: 'limit' });
    expect(JSON.parse(entry.intents[0]!.order_params!)).toMatchObject({ protectAtOpen: true });

    const lines: string[] = [];
    expect(await new AtOpen(deps(clock, {}, ext), (l) => lines.push(l)).check()).toMatchObject({
      protectedOrders: 0,
    });
    restart();
    clock.at = MON_0931_ET;
    expect(await new AtOpen(deps(clock, {}, ext), (l) => lines.push(l)).check()).toMatchObject({
      protectedOrders: 1,
    });
    const legs = journal.intentsFor(s.epoch, s.seq);
    const p = legs.find((l) => l.leg === 'protect')!;
    expect(p).toMatchObject({
      side: 'sell',
      type: 'limit',
      amount: entry.intents[0]!.amount,
      price: 14.01,
      take_profit: 14.01,
      stop_loss: 11.5,
      status: 'open',
    });
    expect(JSON.parse(p.order_params!)).toMatchObject({ orderClass: 'oco', timeInForce: 'gtc' });
    expect(lines).toContain(
      `protection placed at the open: OCO sell ${p.amount} ACME take-profit 14.01 / stop 11.5 (open)`,
    );
    restart();
    clock.at = MON_1000_ET;
    expect(await new AtOpen(deps(clock, {}, ext)).check()).toMatchObject({ protectedOrders: 0 });
    expect(journal.intentsFor(s.epoch, s.seq)).toHaveLength(2);
  });

  it('only a stop level: a single stop order; a crypto config never looks at the open', async () => {
    const clock = { at: MON_0800_ET };
    const s = sig(MON_0800_ET, { stop_loss: 11.5 });
    const ext = { session_policy: 'extended' };
    await processSignal(deps(clock, {}, ext), s, ok, clock.at);
    clock.at = MON_0931_ET;
    await new AtOpen(deps(clock, {}, ext)).check();
    expect(journal.intentsFor(s.epoch, s.seq).find((l) => l.leg === 'protect')).toMatchObject({
      type: 'stop_loss',
      price: null,
      stop_loss: 11.5,
      status: 'open',
    });
    const crypto = deps(clock, { exchange: { venue: 'crypto_spot' } });
    expect(await new AtOpen(crypto).check()).toMatchObject({ session: undefined, protectedOrders: 0 });
  });
});
