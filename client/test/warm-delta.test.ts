import { describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../src/exchange/types.js';
import { warmDelta, type WarmBefore } from '../src/venue/warm-delta.js';

// The one mapping from a broker order event to what it changes in the warm account state: positions from
// executions, open orders added and removed, buying power held by an open buy and turned into the spend by its fills.

const ev = (over: Partial<BrokerEvent>): BrokerEvent => ({
  key: 'k',
  event: 'new',
  orderId: 'o1',
  clientOrderId: 'cs1',
  market: 'AAPL',
  side: 'buy',
  status: 'open',
  filled: 0,
  average: undefined,
  amount: 10,
  limitPrice: 100,
  at: 1000,
  legs: [],
  source: 'stream',
  ...over,
});
const none: WarmBefore = { position: undefined, order: undefined, reserve: undefined, readAt: {} };

describe('warmDelta', () => {
  it('a new open buy is added and holds qty x limit of buying power', () => {
    const d = warmDelta(ev({}), none);
    expect(d.order).toMatchObject({ set: { exchangeOrderId: 'o1', amount: 10, status: 'open' } });
    expect(d.reserve).toEqual({ px: 100, qty: 10 });
    expect(d.buyingPower).toBe(-1000);
    expect(d.position).toBeUndefined();
  });

  it('a market buy we placed holds at the price it was decided at; one already holding holds nothing more', () => {
    expect(warmDelta(ev({ limitPrice: undefined }), none, 50).buyingPower).toBe(-500);
    const held = warmDelta(ev({}), { ...none, reserve: { px: 100, qty: 10 } });
    expect(held.buyingPower).toBe(0);
    expect(held.reserve).toBeUndefined();
  });

  it('a partial fill turns the held part into the spend and moves the position with its average', () => {
    const b: WarmBefore = {
      position: { symbol: 'AAPL', qty: 5, qtyAvailable: 5, avgEntryPrice: 90, marketValue: undefined },
      order: undefined,
      reserve: { px: 100, qty: 10 },
      readAt: {},
    };
    const d = warmDelta(
      ev({ event: 'partial_fill', filled: 4, qty: 4, price: 99, average: 99, positionQty: 9 }),
      b,
    );
    expect(d.buyingPower).toBeCloseTo(4 * 100 - 4 * 99, 9);
    expect(d.reserve).toEqual({ px: 100, qty: 6 });
    expect(d.position).toEqual({
      set: {
        symbol: 'AAPL',
        qty: 9,
        qtyAvailable: 9,
        avgEntryPrice: (5 * 90 + 4 * 99) / 9,
        marketValue: undefined,
      },
    });
  });

  it('an end releases what is still held and removes the order', () => {
    const order = warmDelta(ev({}), none).order as { set: NonNullable<WarmBefore['order']> };
    const d = warmDelta(ev({ event: 'canceled', status: 'canceled' }), {
      ...none,
      order: order.set,
      reserve: { px: 100, qty: 6 },
    });
    expect(d.order).toEqual({ remove: 'o1' });
    expect(d.reserve).toBeNull();
    expect(d.buyingPower).toBe(600);
  });

  it("a sell's fill lowers the position (average kept), its last share removes it; buying power waits for a read", () => {
    const p = { symbol: 'AAPL', qty: 10, qtyAvailable: 0, avgEntryPrice: 90, marketValue: undefined };
    const part = warmDelta(
      ev({ side: 'sell', event: 'partial_fill', filled: 4, qty: 4, price: 110, positionQty: 6 }),
      { ...none, position: p },
    );
    expect(part.position).toEqual({ set: { ...p, qty: 6, qtyAvailable: 0 } });
    expect(part.buyingPower).toBe(0);
    const last = warmDelta(
      ev({ side: 'sell', event: 'fill', status: 'closed', filled: 10, qty: 6, price: 110, positionQty: 0 }),
      { ...none, position: { ...p, qty: 6 } },
    );
    expect(last.position).toEqual({ remove: 'AAPL' });
  });

  it('without position_qty (a REST catch-up) the execution is added to the position', () => {
    const d = warmDelta(
      ev({ event: 'fill', status: 'closed', filled: 10, qty: 10, price: 100, source: 'rest' }),
      {
        ...none,
        position: { symbol: 'AAPL', qty: 5, qtyAvailable: 5, avgEntryPrice: 100, marketValue: undefined },
      },
    );
    expect(d.position).toMatchObject({ set: { qty: 15, qtyAvailable: 15, avgEntryPrice: 100 } });
  });

  it('an event older than the last full read is already in it: counted nowhere twice, no ended order brought back', () => {
    const readAt = { positions: 2000, orders: 2000, account: 2000 };
    const fill = warmDelta(
      ev({ event: 'fill', status: 'closed', filled: 10, qty: 10, price: 100, at: 1500 }),
      {
        ...none,
        readAt,
        reserve: { px: 100, qty: 10 },
      },
    );
    expect(fill.position).toBeUndefined();
    expect(fill.buyingPower).toBe(0);
    expect(fill.reserve).toBeNull();
    expect(warmDelta(ev({ at: 1500 }), { ...none, readAt }).order).toBeUndefined();
  });
});
