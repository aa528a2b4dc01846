import { describe, expect, it } from 'vitest';
import { AtOpen } from '../src/at-open.js';
import { limitDay } from '../src/decide/index.js';
import { processSignal } from '../src/pipeline.js';
import { nyToMs } from './helpers/alpaca/clock.js';
import { useEquityLive } from './helpers/equity-live.js';

// Issue 19 on a live us_equity config through the real ccxt.alpaca against the emulator's virtual New York
// clock: daily limits count the New York day (not the UTC one, which turns at 19:00 New York); the cooldown
// counts entries only, 0 disables it, and a decision's clock is never older than what it compares against.

const ok = { ok: true } as const;
const t = useEquityLive();
const setup = (over: Record<string, unknown> = {}) => t.deps(over);
const sig = (over: Record<string, unknown> = {}) => t.sig(over);

describe('us_equity daily limits count the New York day', () => {
  it('limitDay: New York midnight on us_equity, UTC midnight on crypto', () => {
    const at1930 = nyToMs('2026-11-23T19:30'); // 00:30 UTC on the 24th
    expect(limitDay('us_equity', at1930)).toEqual({ day: '2026-11-23', start: nyToMs('2026-11-23T00:00') });
    expect(limitDay('crypto_spot', at1930)).toEqual({
      day: '2026-11-24',
      start: Date.parse('2026-11-24T00:00:00Z'),
    });
    // Summer (daylight time): midnight New York is 04:00 UTC.
    expect(limitDay('us_equity', Date.parse('2026-07-01T03:59:00Z')).day).toBe('2026-06-30');
    expect(limitDay('us_equity', Date.parse('2026-07-01T04:00:00Z')).day).toBe('2026-07-01');
  });

  it('max_orders_per_day: an order at 10:00 still counts in after-hours at 19:30 (00:30 UTC); the next pre-market is a new day', async () => {
    const d = await setup({
      risk: { cooldown_per_symbol_ms: 0, max_orders_per_day: 1, max_exposure_per_symbol_quote: 2000 },
      equities: { session_policy: 'extended', limit_slippage_pct: 1 },
    });
    expect((await processSignal(d, sig(), ok, t.emu.now())).decision.reason).toBe('trade:entry');
    t.emu.setClock('2026-11-23T19:30');
    const late = await processSignal(d, sig({ symbol: 'LOWP', price: 3.2 }), ok, t.emu.now());
    expect(late.decision).toMatchObject({ reason: 'skipped:max_orders_per_day', detail: '1 orders today' });
    t.emu.setClock('2026-11-24T04:30');
    const next = await processSignal(d, sig({ symbol: 'LOWP', price: 3.2 }), ok, t.emu.now());
    expect(next.decision.reason).toBe('trade:entry');
  });
});

describe('the per-symbol cooldown counts entries only', () => {
  const risk = { max_exposure_per_symbol_quote: 5000, max_total_exposure_quote: 9000 };

  it('cooldown 0 never skips, also when an entry was journaled during the broker reads', async () => {
    const d = await setup({ risk: { ...risk, cooldown_per_symbol_ms: 0 } });
    expect((await processSignal(d, sig(), ok, t.emu.now())).decision.reason).toBe('trade:entry');
    // The clock read before the broker reads is 610 ms older than the entry just journaled.
    const again = await d.venue.decide(sig(), t.emu.now() - 610);
    expect(again.reason).toBe('trade:entry');
  });

  it('with a cooldown, an entry journaled during the reads is "just now", never a negative age', async () => {
    const d = await setup({ risk: { ...risk, cooldown_per_symbol_ms: 15 * 60_000 } });
    expect((await processSignal(d, sig(), ok, t.emu.now())).decision.reason).toBe('trade:entry');
    const again = await d.venue.decide(sig(), t.emu.now() - 610);
    expect(again).toMatchObject({
      reason: 'skipped:cooldown',
      detail: 'last entry 0 ms ago, cooldown 15m',
    });
  });

  it('default 15 min: placing protection at the open does not block an entry in the symbol', async () => {
    t.emu.setClock('2026-11-23T08:00');
    const d = await setup({ risk, equities: { session_policy: 'extended', limit_slippage_pct: 1 } });
    expect(d.config.risk.cooldown_per_symbol_ms).toBe(15 * 60_000);
    const s = sig({ stop_loss: 190, take_profit: 220 });
    const entry = (await processSignal(d, s, ok, t.emu.now())).intents[0]!;
    t.emu.fill(entry.client_order_id, { price: 200 });
    await d.executor.reconcileAll();
    t.emu.setClock('2026-11-23T09:31');
    expect(await new AtOpen(d).check()).toMatchObject({ protectedOrders: 1 });
    const next = await processSignal(d, sig({ symbol: 'AAPL' }), ok, t.emu.now());
    expect(next.decision.reason).toBe('trade:entry');
  });
});
