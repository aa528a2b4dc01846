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
