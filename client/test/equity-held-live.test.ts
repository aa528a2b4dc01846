import { describe, expect, it } from 'vitest';
import { AtOpen } from '../src/at-open.js';
import { processSignal } from '../src/pipeline.js';
import { useEquityLive } from './helpers/equity-live.js';

// Issue 19 on a live us_equity config through the real ccxt.alpaca against the Alpaca emulator, which refuses
// what Alpaca refuses (a bracket when a position exists) and expires DAY orders at the close.

const ok = { ok: true } as const;
const t = useEquityLive();
const posts = () => t.emu.requests.filter((r) => r.method === 'POST' && r.path === '/v2/orders');

describe('an entry in a stock already held (item 16)', () => {
  it('goes out as a simple order, not a bracket the broker refuses; its shares get their own protection', async () => {
    const d = await t.deps();
    const first = await processSignal(d, t.sig({ stop_loss: 190, take_profit: 220 }), ok, t.emu.now());
    expect(t.emu.posted(first.intents[0]!.client_order_id)[0]!.body).toMatchObject({
      order_class: 'bracket',
    });
    t.emu.fill(first.intents[0]!.client_order_id, { price: 200 });
    await d.executor.reconcileAll();

    const s = t.sig({ stop_loss: 190, take_profit: 220 });
    const add = await processSignal(d, s, ok, t.emu.now());
    expect(add.decision.reason).toBe('trade:entry');
    expect(add.decision.detail).toContain('adds to a held position');
    const [post] = t.emu.posted(add.intents[0]!.client_order_id);
    expect(post!.status).toBe(200);
    expect(post!.body).not.toHaveProperty('order_class', 'bracket');
    expect(add.intents[0]!.status).toBe('open');

    t.emu.fill(add.intents[0]!.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    expect(await new AtOpen(d).check()).toMatchObject({ protectedOrders: 1 });
    const p = t.journal.intentsFor(s.epoch, s.seq).find((i) => i.leg === 'protect')!;
    expect(t.emu.posted(p.client_order_id)[0]!.body).toMatchObject({
      order_class: 'oco',
      side: 'sell',
      qty: String(add.intents[0]!.amount),
      time_in_force: 'gtc',
    });
    expect(p.status).toBe('open');
    expect(posts()).toHaveLength(3);
  });

  it('a position opened outside the client also rules out a bracket', async () => {
    t.emu.setPosition('AAPL', 3, 190);
    const d = await t.deps();
    const e = await processSignal(d, t.sig({ stop_loss: 190, take_profit: 220 }), ok, t.emu.now());
    expect(e.intents[0]!.status).toBe('open');
    expect(t.emu.posted(e.intents[0]!.client_order_id)[0]!.body).not.toHaveProperty('order_class', 'bracket');
  });
});

describe('an exit while no sell can be placed waits for the next session that can sell (item 17)', () => {
  async function holdFour(policy: string, equities: Record<string, unknown> = {}) {
    t.emu.setClock('2026-11-25T10:00'); // Wednesday before Thanksgiving
    const d = await t.deps({ equities: { session_policy: policy, limit_slippage_pct: 1, ...equities } });
    const e = await processSignal(d, t.sig(), ok, t.emu.now());
    t.emu.fill(e.intents[0]!.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    expect(t.journal.positions()).toEqual([expect.objectContaining({ market: 'AAPL', amount: 4 })]);
    return d;
  }
  const sells = () => posts().filter((p) => p.body?.['side'] === 'sell');

  it('extended: an exit on the holiday morning is sold once in the next pre-market, across a restart', async () => {
    let d = await holdFour('extended');
    t.emu.setClock('2026-11-26T10:00'); // Thanksgiving: closed all day
    const x = t.sig({ action: 'exit', direction: 'neutral', catalyst: 'going_concern' });
    const first = await processSignal(d, x, ok, t.emu.now());
    expect(first.decision.reason).toBe('deferred:exit_until_session');
    expect(first.decision.detail).toContain(
      'held until the next pre-market or the open Fri 2026-11-27 09:30 ET',
    );
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'closed', redecided: 0 });
    t.emu.setClock('2026-11-26T23:00');
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 0 });
    expect(sells()).toEqual([]);

    t.emu.setClock('2026-11-27T04:05'); // pre-market of the early-close Friday
    const lines: string[] = [];
    expect(await new AtOpen(d, (l) => lines.push(l)).check()).toMatchObject({ session: 'pre', redecided: 1 });
    expect(lines[0]).toMatch(
      /^#\d+ AAPL held until a session that can sell, decided again: trade:exit \(sell 4 AAPL \(extended session\)/,
    );
    expect(sells()).toHaveLength(1);
    expect(sells()[0]!.body).toMatchObject({ qty: '4', type: 'limit', extended_hours: true });

    t.reopen();
    d = await t.deps({ equities: { session_policy: 'extended', limit_slippage_pct: 1 } });
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 0 });
    t.emu.setClock('2026-11-27T09:45');
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 0 });
    expect(sells()).toHaveLength(1);
  });

  it('hold_until_open: an exit on a Saturday waits past its entry hold age for Monday’s open, sold once', async () => {
    const d = await holdFour('hold_until_open');
    t.emu.setClock('2026-11-28T11:00'); // Saturday
    const x = t.sig({ action: 'exit', direction: 'neutral', catalyst: 'delisting' });
    expect((await processSignal(d, x, ok, t.emu.now())).decision.reason).toBe('deferred:exit_until_session');
    t.emu.setClock('2026-11-30T05:00'); // Monday pre-market: hold_until_open sells at the open only
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'pre', redecided: 0, expired: 0 });
    expect(sells()).toEqual([]);
    t.emu.setClock('2026-11-30T09:30'); // 46.5 h after the signal, well past hold_max_age_ms (18 h)
    expect(await new AtOpen(d).check()).toMatchObject({ session: 'regular', redecided: 1 });
    expect(sells()).toHaveLength(1);
    expect(sells()[0]!.body).toMatchObject({ qty: '4', type: 'market', time_in_force: 'day' });
    expect(t.journal.redecision(x.epoch, x.seq)).toMatchObject({ reason: 'trade:exit' });
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 0 });
    expect(sells()).toHaveLength(1);
  });

  it('an avoid that exits waits the same way, and its entry block starts at the signal', async () => {
    const d2 = await holdFour('regular_only', { avoid_exits: true });
    t.emu.setClock('2026-11-25T18:00'); // after-hours
    const a = await processSignal(d2, t.sig({ action: 'avoid', direction: 'neutral' }), ok, t.emu.now());
    expect(a.decision.reason).toBe('deferred:exit_until_session');
    expect(a.decision.detail).toContain('entries in AAPL blocked for');
    t.emu.setClock('2026-11-27T09:31');
    expect(await new AtOpen(d2).check()).toMatchObject({ redecided: 1 });
    expect(sells()).toHaveLength(1);
  });
});

describe('protection outlives the session (item 19)', () => {
  it('a regular-session bracket is GTC: its stop is still there the next morning, and fires', async () => {
    const d = await t.deps();
    const e = await processSignal(d, t.sig({ stop_loss: 190, take_profit: 220 }), ok, t.emu.now());
    const id = e.intents[0]!.client_order_id;
    expect(t.emu.posted(id)[0]!.body).toMatchObject({ order_class: 'bracket', time_in_force: 'gtc' });
    t.emu.fill(id, { price: 200 });
    await d.executor.reconcileAll();

    t.emu.setClock('2026-11-24T09:45'); // across Monday's close and the night
    await d.executor.reconcileAll();
    const legs = t.emu.order(id)!.legs;
    expect(legs.map((l) => [l.leg, l.status])).toEqual([
      ['take_profit', 'new'],
      ['stop_loss', 'held'],
    ]);
    t.emu.setQuote('AAPL', { bid: 188, ask: 188.1, last: 188 });
    expect(t.emu.order(id)!.legs.find((l) => l.leg === 'stop_loss')!.status).toBe('filled');
    expect(t.emu.book.positions.get('AAPL')?.qty ?? 0).toBe(0);
  });

  it('a held exit sold in the next pre-market first cancels the GTC bracket legs that lived through the holiday', async () => {
    const d = await t.deps({ equities: { session_policy: 'extended', limit_slippage_pct: 1 } });
    t.emu.setClock('2026-11-25T10:00');
    const e = await processSignal(d, t.sig({ stop_loss: 190, take_profit: 220 }), ok, t.emu.now());
    const id = e.intents[0]!.client_order_id;
    t.emu.fill(id, { price: 200 });
    await d.executor.reconcileAll();
    t.emu.setClock('2026-11-26T10:00'); // Thanksgiving
    const x = t.sig({ action: 'exit', direction: 'neutral', catalyst: 'bankruptcy' });
    expect((await processSignal(d, x, ok, t.emu.now())).decision.reason).toBe('deferred:exit_until_session');
    expect(t.emu.order(id)!.legs.map((l) => l.status)).toEqual(['new', 'held']);
    t.emu.setClock('2026-11-27T04:05');
    expect(await new AtOpen(d).check()).toMatchObject({ redecided: 1 });
    const sell = t.journal.intentsFor(x.epoch, x.seq)[0]!;
    expect(t.emu.posted(sell.client_order_id)[0]!.body).toMatchObject({ side: 'sell', qty: '4' });
    expect(t.emu.order(id)!.legs.map((l) => l.status)).toEqual(['canceled', 'canceled']);
  });

  it('a limit entry (regular_order_type: limit) gets a GTC exit after its fill that holds across the close', async () => {
    const d = await t.deps({ equities: { regular_order_type: 'limit', limit_slippage_pct: 1 } });
    const s = t.sig({ stop_loss: 190, take_profit: 220 });
    const e = await processSignal(d, s, ok, t.emu.now());
    const id = e.intents[0]!.client_order_id;
    expect(t.emu.posted(id)[0]!.body).toMatchObject({ type: 'limit', time_in_force: 'day' });
    expect(t.emu.posted(id)[0]!.body).not.toHaveProperty('order_class', 'bracket');
    t.emu.fill(id, { price: 200 });
    await d.executor.reconcileAll();
    expect(await new AtOpen(d).check()).toMatchObject({ protectedOrders: 1 });
    const p = t.journal.intentsFor(s.epoch, s.seq).find((i) => i.leg === 'protect')!;
    t.emu.setClock('2026-11-24T09:45');
    await d.executor.reconcileAll();
    expect(t.emu.order(p.client_order_id)!.status).toBe('new');
    expect(t.journal.intent(p.client_order_id)!.status).toBe('open');
    expect(await new AtOpen(d).check()).toMatchObject({ protectedOrders: 0 });
  });
});
