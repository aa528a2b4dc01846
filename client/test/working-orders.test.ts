import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextReprice, repriceBound } from '../src/decide/index.js';
import { processSignal } from '../src/pipeline.js';
import { WorkingOrders } from '../src/working-orders.js';
import { useEquityLive } from './helpers/equity-live.js';
import { testLog } from './helpers/logger.js';

// Working orders (issue 21): an extended-hours limit entry that does not fill is replaced toward the quote with
// Alpaca's replace (PATCH, never cancel + new), at most equities.max_reprices times and never beyond
// limit_slippage_pct, then cancelled; each step journaled with its deterministic id, exactly once across a kill
// between the replace request and its journal write. Real ccxt.alpaca against the emulator.

const cfg = { limit_slippage_pct: 2, reprice_after_ms: 60_000, max_reprices: 2 };

describe('nextReprice (pure)', () => {
  it('waits, then climbs a ladder toward the quote up to the bound, then cancels', () => {
    const o = { side: 'buy' as const, limit: 200, refPrice: 200, steps: 0, since: 0 };
    expect(nextReprice(o, undefined, 59_999, cfg)).toEqual({ kind: 'wait', until: 60_000 });
    expect(repriceBound(o, cfg)).toBe(204);
    expect(nextReprice(o, { bid: 201, ask: 201.5 }, 60_000, cfg)).toEqual({
      kind: 'replace',
      price: 201.5,
      step: 1,
    });
    expect(nextReprice(o, { bid: 209, ask: 210 }, 60_000, cfg)).toEqual({
      kind: 'replace',
      price: 202,
      step: 1,
    });
    expect(nextReprice({ ...o, limit: 202, steps: 1 }, { bid: 209, ask: 210 }, 60_000, cfg)).toEqual({
      kind: 'replace',
      price: 204,
      step: 2,
    });
    expect(nextReprice({ ...o, limit: 204, steps: 2 }, undefined, 60_000, cfg)).toMatchObject({
      kind: 'cancel',
    });
  });

  it('never beyond the bound, never a step back, never past the cap (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 100_000 }).map((c) => c / 100),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 200_000 }).map((c) => c / 100)),
        (ref, steps, max, buy, q) => {
          const c = { ...cfg, max_reprices: max };
          const side = buy ? ('buy' as const) : ('sell' as const);
          const o = { side, limit: ref, refPrice: ref, steps, since: 0 };
          const a = nextReprice(o, q === null ? undefined : { bid: q, ask: q }, 60_000, c);
          if (steps >= max) expect(a.kind).toBe('cancel');
          if (a.kind !== 'replace') return;
          const bound = repriceBound(o, c);
          if (buy) expect(a.price).toBeLessThanOrEqual(bound);
          else expect(a.price).toBeGreaterThanOrEqual(bound);
          expect(buy ? a.price > o.limit : a.price < o.limit).toBe(true);
          expect(a.step).toBeLessThanOrEqual(max);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('working orders on Alpaca (emulator)', () => {
  const t = useEquityLive('2026-11-23T08:00');
  const over = {
    equities: { session_policy: 'extended', ...cfg },
    sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
  };
  const calls = (m: string) =>
    t.emu.requests.filter((r) => r.method === m && r.path.startsWith('/v2/orders'));

  it('replaces with PATCH (not cancel + new) toward the quote; the fill of the replacement is the intent fill', async () => {
    t.emu.setQuote('AAPL', { bid: 201, ask: 201.5 });
    const d = await t.deps(over);
    const entry = (await processSignal(d, t.sig(), { ok: true }, t.emu.now())).intents[0]!;
    // A working order starts at the reference price (the quote's mid on Alpaca), sized at the bound it may reach.
    expect(entry).toMatchObject({ status: 'open', type: 'limit', ref_price: 201.25, price: 201.25 });
    expect(entry.amount * 205.27).toBeLessThanOrEqual(1000);
    const w = new WorkingOrders({ ...d, exchange: d.venue.exchange, now: () => t.emu.now(), log: testLog });
    expect(await w.check()).toBe(0); // not yet: reprice_after_ms
    t.emu.advanceClock(61_000);
    expect(await w.check()).toBe(1);
    expect(calls('PATCH')).toHaveLength(1);
    expect(calls('DELETE')).toHaveLength(0);
    expect(calls('POST')).toHaveLength(1);
    const r1 = t.emu.order(`${entry.client_order_id}-r1`)!;
    expect(r1).toMatchObject({ limit_price: 201.5, status: 'new' });
    expect(t.emu.order(entry.client_order_id)!.status).toBe('replaced');
    expect(d.journal.reprices.list(entry.client_order_id)).toMatchObject([
      { step: 1, order_id: `${entry.client_order_id}-r1`, price: 201.5, state: 'done' },
    ]);
    // The quote comes down to the new limit: the replacement fills, and the journal's entry follows it.
    t.emu.setQuote('AAPL', { bid: 201, ask: 201.4 });
    await d.executor.reconcileAll();
    expect(d.journal.intent(entry.client_order_id)).toMatchObject({
      status: 'filled',
      filled: entry.amount,
      avg_price: 201.4,
    });
    expect(d.journal.positions()).toEqual([
      expect.objectContaining({ market: 'AAPL', amount: entry.amount }),
    ]);
  });

  it('a kill between the replace request and its journal write: the restart finds it, never replaces again, cancels at the cap', async () => {
    t.emu.setQuote('AAPL', { bid: 200, ask: 200.5 });
    const d = await t.deps(over);
    const entry = (await processSignal(d, t.sig(), { ok: true }, t.emu.now())).intents[0]!;
    // The stock runs away above the bound (200.25 + 2% = 204.25): it never fills.
    t.emu.setQuote('AAPL', { bid: 230, ask: 231 });
    const make = (crash?: () => void) =>
      new WorkingOrders({
        ...d,
        journal: t.journal,
        exchange: d.venue.exchange,
        now: () => t.emu.now(),
        log: testLog,
        crash,
      });
    t.emu.advanceClock(61_000);
    expect(await make().check()).toBe(1);
    t.emu.advanceClock(61_000);
    // Step 2 reaches the broker; the process dies before the journal hears of it.
    await expect(
      make(() => {
        throw new Error('killed');
      }).check(),
    ).rejects.toThrow('killed');
    expect(calls('PATCH')).toHaveLength(2);
    expect(t.journal.reprices.list(entry.client_order_id).map((s) => s.state)).toEqual(['done', 'requested']);
    t.reopen();
    const after = await t.deps(over);
    // The start's reconcile follows the unsettled replacement: still open, not "canceled" (the original's state).
    await after.executor.reconcileAll();
    expect(t.journal.intent(entry.client_order_id)).toMatchObject({ status: 'open' });
    const w = new WorkingOrders({
      ...after,
      exchange: after.venue.exchange,
      now: () => t.emu.now(),
      log: testLog,
    });
    // The restart asks for step 2's id, finds it: done, no third PATCH; the wait counts from step 2.
    expect(await w.check()).toBe(0);
    expect(calls('PATCH')).toHaveLength(2);
    expect(t.journal.reprices.list(entry.client_order_id).map((s) => [s.step, s.price, s.state])).toEqual([
      [1, 202.25, 'done'],
      [2, 204.25, 'done'],
    ]);
    t.emu.advanceClock(61_000);
    expect(await w.check()).toBe(1); // at the cap: cancelled
    expect(calls('PATCH')).toHaveLength(2);
    expect(calls('DELETE')).toHaveLength(1);
    await after.executor.reconcileAll();
    expect(t.journal.intent(entry.client_order_id)).toMatchObject({ status: 'canceled', filled: 0 });
    t.emu.advanceClock(61_000);
    expect(await w.check()).toBe(0);
    expect(calls('PATCH')).toHaveLength(2);
  });
});
