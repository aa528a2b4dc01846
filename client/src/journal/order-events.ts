import type { BrokerEvent } from '../exchange/types.js';
import type { IntentStatus, IntentStore } from './intents.js';
import { prepareAll, type Db } from './db.js';

/**
 * The broker's order events, appended as they come (stream) or as a REST read-back finds them, each once: the
 * event's key (exchange/types.ts BrokerEvent.key) is the primary key, so a duplicate or a replayed read-back is a
 * no-op. An event is linked to this client's intent by its client_order_id, or - for a bracket/OCO leg, whose ids
 * the broker makes - through its parent order. Fills of this client's orders (and of their legs) become fill facts
 * (journal/fills.ts), from which positions are derived; an order the client does not know (placed in the broker's
 * app) is recorded and moves nothing here. Caller holds no transaction: apply() is one.
 */

const SQL = {
  insertEvent: `INSERT OR IGNORE INTO order_events (key, event, order_id, client_order_id, intent_id, market, side,
    status, filled, avg_price, execution_id, qty, price, at, received_at, source) VALUES (@key, @event, @orderId,
    @clientOrderId, @intent, @market, @side, @status, @filled, @average, @executionId, @qty, @price, @at, @now,
    @source)`,
  getOrder:
    'SELECT order_id, client_order_id, intent_id, parent_order_id FROM broker_orders WHERE order_id = ?',
  upsertOrder: `INSERT INTO broker_orders (order_id, client_order_id, intent_id, parent_order_id)
    VALUES (@orderId, @clientOrderId, @intent, @parent) ON CONFLICT (order_id) DO UPDATE SET
    intent_id = COALESCE(intent_id, excluded.intent_id), parent_order_id = COALESCE(parent_order_id, excluded.parent_order_id)`,
  eventsOfOrder: 'SELECT * FROM order_events WHERE order_id = ? ORDER BY filled',
  linkEvents: 'UPDATE order_events SET intent_id = ? WHERE order_id = ? AND intent_id IS NULL',
  lastAt: 'SELECT MAX(at) AS at FROM order_events',
  recent: 'SELECT * FROM order_events ORDER BY received_at DESC, rowid DESC LIMIT ?',
  forIntent: 'SELECT * FROM order_events WHERE intent_id = ? ORDER BY at, rowid',
  count: 'SELECT COUNT(*) AS n FROM order_events',
} as const;

export interface OrderEventRow {
  key: string;
  event: string;
  order_id: string;
  client_order_id: string;
  intent_id: string | null;
  market: string;
  side: 'buy' | 'sell';
  status: string;
  filled: number;
  avg_price: number | null;
  execution_id: string | null;
  qty: number | null;
  price: number | null;
  at: number;
  received_at: number;
  source: string;
}

interface OrderLink {
  order_id: string;
  client_order_id: string;
  intent_id: string | null;
  parent_order_id: string | null;
}

const STATUS: Record<BrokerEvent['status'], IntentStatus> = {
  open: 'open',
  closed: 'filled',
  canceled: 'canceled',
  rejected: 'rejected',
};

export class OrderEventStore {
  private readonly st;

  constructor(
    private readonly db: Db,
    private readonly intents: IntentStore,
  ) {
    this.st = prepareAll(db, SQL);
  }

  /** Append one event (once) and apply it; `fresh` is false for a duplicate. */
  apply(e: BrokerEvent, now: number): { fresh: boolean; intent: string | undefined } {
    return this.db.transaction(() => {
      const own = this.intents.get(e.clientOrderId);
      const known = this.st.getOrder.get(e.orderId) as OrderLink | undefined;
      const intent = own?.client_order_id ?? known?.intent_id ?? undefined;
      this.st.upsertOrder.run({
        orderId: e.orderId,
        clientOrderId: e.clientOrderId,
        intent: intent ?? null,
        parent: null,
      });
      for (const l of e.legs) this.link(l.orderId, l.clientOrderId, intent, e.orderId, now);
      const fresh =
        this.st.insertEvent.run({
          ...e,
          intent: intent ?? null,
          average: e.average ?? null,
          executionId: e.executionId ?? null,
          qty: e.qty ?? null,
          price: e.price ?? null,
          now,
        }).changes > 0;
      if (!intent) return { fresh, intent };
      // A duplicate may know the fees its first report did not (a stream execution after a gap, read back over
      // REST later): the fact takes them (fills.ts keeps what it knew and adds what it learns), nothing else moves.
      if (!fresh) {
        if (e.feeQuote !== undefined || e.feeBase !== undefined) {
          this.fact(e, now);
          // The intent's fee totals too (never lowered: cumulative, merged by max): a fill the stream journaled
          // without its fee made the intent final, and the executor's read-back no longer visits final intents.
          if (own)
            this.intents.update(
              e.clientOrderId,
              { status: own.status, feeQuote: e.feeQuote, feeBase: e.feeBase, at: e.at },
              now,
            );
        }
        return { fresh, intent };
      }
      this.fact(e, now);
      if (own) this.updateIntent(e, now);
      return { fresh, intent };
    })();
  }

  /** A leg (broker-made ids) belongs to its parent's intent; its events seen before the parent are linked now. */
  private link(
    orderId: string,
    clientOrderId: string,
    intent: string | undefined,
    parent: string,
    now: number,
  ) {
    const before = this.st.getOrder.get(orderId) as OrderLink | undefined;
    this.st.upsertOrder.run({ orderId, clientOrderId, intent: intent ?? null, parent });
    if (!intent || before?.intent_id) return;
    this.st.linkEvents.run(intent, orderId);
    for (const r of this.st.eventsOfOrder.all(orderId) as OrderEventRow[])
      this.fact(
        {
          clientOrderId: r.client_order_id,
          market: r.market,
          side: r.side,
          filled: r.filled,
          average: r.avg_price ?? undefined,
          price: r.price ?? undefined,
          at: r.at,
        },
        now,
      );
  }

  private fact(
    e: Pick<BrokerEvent, 'clientOrderId' | 'market' | 'side' | 'filled' | 'average' | 'price' | 'at'> &
      Partial<Pick<BrokerEvent, 'feeQuote' | 'feeBase'>>,
    now: number,
  ) {
    if (!(e.filled > 0)) return;
    this.intents.fills.add(
      {
        order: e.clientOrderId,
        market: e.market,
        side: e.side,
        cum: e.filled,
        avg: e.average,
        price: e.price,
        feeQuote: e.feeQuote,
        feeBase: e.feeBase,
        at: e.at,
      },
      now,
    );
  }

  /**
   * The intent's status, filled and average follow its order's events, never backwards: an older event that
   * arrives late (reordered, or read back after a newer one) neither reopens a final intent nor lowers its fill.
   */
  private updateIntent(e: BrokerEvent, now: number) {
    // A replace is followed by whoever asked for it (the replacement order has an id of its own).
    if (e.event === 'replaced') return;
    const prev = this.intents.get(e.clientOrderId)!;
    const status = STATUS[e.status];
    const newer = e.filled >= prev.filled;
    this.intents.update(
      e.clientOrderId,
      {
        status,
        exchangeOrderId: e.orderId,
        filled: newer ? e.filled : undefined,
        avgPrice: newer ? e.average : undefined,
        feeQuote: e.feeQuote,
        feeBase: e.feeBase,
        at: e.at,
      },
      now,
    );
  }

  /** Broker time of the newest event journaled (where a catch-up starts), or undefined before the first. */
  lastAt(): number | undefined {
    return (this.st.lastAt.get() as { at: number | null }).at ?? undefined;
  }
  recent(limit = 50): OrderEventRow[] {
    return this.st.recent.all(limit) as OrderEventRow[];
  }
  forIntent(clientOrderId: string): OrderEventRow[] {
    return this.st.forIntent.all(clientOrderId) as OrderEventRow[];
  }
  count(): number {
    return (this.st.count.get() as { n: number }).n;
  }
}
