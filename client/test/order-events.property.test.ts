import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillKey, type BrokerEvent } from '../src/exchange/types.js';
import { Journal } from '../src/journal/index.js';

// The journal's side of following the broker (real SQLite): a bracket entry filled in parts and its stop leg
// filled in parts, as the stream and a REST read-back report them - duplicated, reordered, a leg's events before
// its parent's - always end in the same journal: one row per event, the same intent state, positions and P&L.

const ENTRY = 'cs-e1';
const SL = { orderId: 'b-sl', clientOrderId: 'broker-sl' };
const TP = { orderId: 'b-tp', clientOrderId: 'broker-tp' };

function ev(
  o: { orderId: string; clientOrderId: string },
  side: 'buy' | 'sell',
  event: string,
  filled: number,
  average: number | undefined,
  at: number,
  extra: Partial<BrokerEvent> = {},
): BrokerEvent {
  const isFill = event === 'fill' || event === 'partial_fill';
  return {
    key: isFill ? fillKey(o.clientOrderId, filled) : `${event}:${o.clientOrderId}`,
    event,
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    market: 'AAPL',
    side,
    status: event === 'fill' ? 'closed' : event === 'canceled' ? 'canceled' : 'open',
    filled,
    average,
    at,
    legs: [],
    source: 'stream',
    ...extra,
  };
}

/** Entry: 10 shares in 3 executions (4 @ 100, 3 @ 101, 3 @ 102); stop: 10 shares in 2 (6 @ 95, 4 @ 94). */
function history(): BrokerEvent[] {
  const e = { orderId: 'b-e1', clientOrderId: ENTRY };
  const legs = [TP, SL];
  return [
    ev(e, 'buy', 'new', 0, undefined, 1, { legs }),
    ev(e, 'buy', 'partial_fill', 4, 100, 2, { legs, qty: 4, price: 100 }),
    ev(e, 'buy', 'partial_fill', 7, 700 / 7 + 3 / 7, 3, { legs, qty: 3, price: 101 }),
    ev(e, 'buy', 'fill', 10, 100.9, 4, { legs, qty: 3, price: 102 }),
    // The REST read-back of the entry: only its total.
    ev(e, 'buy', 'fill', 10, 100.9, 9, { legs, source: 'rest' }),
    ev(SL, 'sell', 'new', 0, undefined, 5),
    ev(SL, 'sell', 'partial_fill', 6, 95, 6, { qty: 6, price: 95 }),
    ev(SL, 'sell', 'fill', 10, 94.6, 7, { qty: 4, price: 94 }),
    ev(TP, 'sell', 'canceled', 0, undefined, 7),
  ];
}

function apply(events: BrokerEvent[]) {
  const j = openWithEntry();
  // The executor's own reply races the stream: "open, nothing filled" read after the events.
  events.forEach((e, k) => {
    j.applyBrokerEvent(e, 100 + k);
    if (k === Math.floor(events.length / 2)) j.updateIntent(ENTRY, { status: 'open', filled: 0 }, 100 + k);
  });
  const i = j.intent(ENTRY)!;
  const out = {
    rows: j.orderEventCount(),
    positions: j.positions(),
    realized: +j.totalRealized().toFixed(6),
    intent: { status: i.status, filled: i.filled, avg: i.avg_price },
    linked: j.orderEventsFor(ENTRY).length,
  };
  j.close();
  return out;
}

function openWithEntry(): Journal {
  const j = Journal.open(':memory:');
  j.addIntent(
    {
      client_order_id: ENTRY,
      epoch: 'ep',
      seq: 1,
      leg: 'entry',
      market: 'AAPL',
      side: 'buy',
      type: 'market',
      amount: 10,
      price: null,
      ref_price: 100,
      stop_loss: 95,
      take_profit: 110,
    },
    0,
  );
  return j;
}

describe('order events in the journal (property)', () => {
  it('any order of duplicated / reordered events gives the same journal', () => {
    const base = history();
    const expected = apply(base);
    expect(expected).toEqual({
      rows: 8, // the REST total of the entry is the stream's last fill: one row
      positions: [],
      realized: +(6 * 95 + 4 * 94 - 1009).toFixed(6),
      intent: { status: 'filled', filled: 10, avg: 100.9 },
      linked: 8,
    });
    fc.assert(
      fc.property(
        fc.shuffledSubarray(
          base.map((_, k) => k),
          { minLength: base.length, maxLength: base.length },
        ),
        fc.array(fc.nat(base.length - 1), { maxLength: 8 }),
        (order, dups) => {
          const events = [...order, ...dups].map((k) => base[k]!);
          expect(apply(events)).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a repeated fill that brings its fee sets the intent fee totals, also once the intent is final', () => {
    // Seen in the crypto kill chaos: the stream made the intent final without the fee (after a gap), and the REST
    // read-back that knew it was a duplicate, so only the fill fact took it: the intent said fee 0.
    const [, , , fill] = history();
    const j = openWithEntry();
    j.applyBrokerEvent({ ...fill!, feeBase: undefined }, 100);
    expect(j.intent(ENTRY)!).toMatchObject({ status: 'filled', fee_base: 0 });
    j.applyBrokerEvent({ ...fill!, source: 'rest', feeBase: 0.01 }, 200);
    expect(j.intent(ENTRY)!).toMatchObject({ status: 'filled', filled: 10, fee_base: 0.01 });
    j.applyBrokerEvent({ ...fill!, source: 'rest', feeBase: 0.005 }, 201); // never lowered
    expect(j.intent(ENTRY)!.fee_base).toBe(0.01);
    j.close();
  });
});
