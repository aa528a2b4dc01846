import type { OrderLeg, Position } from '../decide/index.js';
import { mergeFill } from '../ledger-math.js';
import { prepareAll, type Db } from './db.js';
import { FillStore } from './fills.js';

/**
 * Order intents (written before any order is sent), the positions their fills build, and realized P&L. The
 * arithmetic is ledger-math.ts; this file only reads and writes rows, in one transaction per report.
 */

export type IntentStatus = 'pending' | 'open' | 'filled' | 'canceled' | 'rejected' | 'abandoned';
export const FINAL_STATUSES: ReadonlySet<IntentStatus> = new Set([
  'filled',
  'canceled',
  'rejected',
  'abandoned',
]);

export interface IntentRow {
  client_order_id: string;
  epoch: string;
  seq: number;
  leg: string;
  market: string;
  side: 'buy' | 'sell';
  /** stop_loss / take_profit: a limit order (price) with a trigger (stop_loss / take_profit column). */
  type: 'market' | 'limit' | 'stop_loss' | 'take_profit';
  amount: number;
  price: number | null;
  ref_price: number;
  status: IntentStatus;
  exchange_order_id: string | null;
  filled: number;
  avg_price: number | null;
  fee_quote: number;
  fee_base: number;
  attempts: number;
  error: string | null;
  stop_loss: number | null;
  take_profit: number | null;
  created_at: number;
  updated_at: number;
  /** Venue-specific order parameters as JSON (time in force, extended hours, bracket), or null. Schema 2+. */
  order_params?: string | null;
}

export type NewIntent = Pick<
  IntentRow,
  | 'client_order_id'
  | 'epoch'
  | 'seq'
  | 'leg'
  | 'market'
  | 'side'
  | 'type'
  | 'amount'
  | 'price'
  | 'ref_price'
  | 'stop_loss'
  | 'take_profit'
> & { order_params?: string | null | undefined };

export interface IntentUpdate {
  status: IntentStatus;
  exchangeOrderId?: string | undefined;
  /** Cumulative filled base amount. */
  filled?: number | undefined;
  avgPrice?: number | undefined;
  /** Cumulative fees, converted to quote / charged in base. */
  feeQuote?: number | undefined;
  feeBase?: number | undefined;
  error?: string | undefined;
  attempts?: number | undefined;
  /** When the reported fill happened (broker time), if known; else the time of the update. */
  at?: number | undefined;
}

const INSERT_COLUMNS = `(client_order_id, epoch, seq, leg, market, side, type, amount, price, ref_price, status,
    stop_loss, take_profit, order_params, created_at, updated_at) VALUES (@client_order_id, @epoch, @seq, @leg,
    @market, @side, @type, @amount, @price, @ref_price, 'pending', @stop_loss, @take_profit, @order_params, @now, @now)`;

export const SQL = {
  insertIntent: `INSERT INTO intents ${INSERT_COLUMNS}`,
  /** Intents decided after the fact (protective orders): a second insert for the same (seq, leg) is a no-op. */
  insertIntentOnce: `INSERT OR IGNORE INTO intents ${INSERT_COLUMNS}`,
  getIntent: 'SELECT * FROM intents WHERE client_order_id = ?',
  intentByLeg: 'SELECT * FROM intents WHERE epoch = ? AND seq = ? AND leg = ?',
  intentsFor: 'SELECT * FROM intents WHERE epoch = ? AND seq = ? ORDER BY leg',
  allIntents: 'SELECT * FROM intents ORDER BY created_at, client_order_id',
  openIntents: `SELECT * FROM intents WHERE status IN ('pending', 'open') ORDER BY created_at, client_order_id`,
  unprotectedEntries: `SELECT e.* FROM intents e WHERE e.leg = 'entry' AND e.status = 'filled'
    AND (e.stop_loss IS NOT NULL OR e.take_profit IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM intents p WHERE p.epoch = e.epoch AND p.seq = e.seq AND p.leg IN ('sl', 'tp'))`,
  updateIntent: `UPDATE intents SET status = @status, exchange_order_id = COALESCE(@exchange_order_id, exchange_order_id),
    filled = @filled, avg_price = @avg_price, fee_quote = @fee_quote, fee_base = @fee_base, error = @error,
    attempts = @attempts, updated_at = @now WHERE client_order_id = @client_order_id`,
  positions: 'SELECT market, amount, cost FROM positions WHERE amount > 0 ORDER BY market',
  realizedSince: 'SELECT COALESCE(SUM(realized), 0) AS v FROM pnl WHERE at >= ?',
  totalPnl: 'SELECT COALESCE(SUM(realized), 0) AS v FROM pnl',
  realizedAt: 'SELECT SUM(realized) AS v FROM pnl WHERE market = ? AND at = ?',
  /** A bracket is one order request: its legs (broker-made orders, journaled to follow their fills) do not count. */
  ordersSince: `SELECT COUNT(*) AS n FROM intents WHERE created_at >= ? AND status != 'abandoned'
    AND leg NOT IN ('bracket_tp', 'bracket_sl')`,
  /** The cooldown counts entries only: protective orders and exits are not trades into a symbol, and an
   *  entry that was never sent (abandoned) or that the broker refused (rejected) bought nothing. */
  lastEntries: `SELECT market, MAX(created_at) AS at FROM intents WHERE leg = 'entry'
    AND status NOT IN ('abandoned', 'rejected') AND created_at >= ? GROUP BY market`,
  /** Round trips since an instant: filled sells preceded, since the same instant, by a filled buy of the market. */
  roundTripsSince: `SELECT COUNT(*) AS n FROM intents s WHERE s.side = 'sell' AND s.filled > 0 AND s.created_at >= @since
    AND EXISTS (SELECT 1 FROM intents b WHERE b.market = s.market AND b.side = 'buy' AND b.filled > 0
      AND b.created_at >= @since AND b.created_at <= s.created_at)`,
} as const;

export class IntentStore {
  private readonly st;
  readonly fills: FillStore;

  constructor(private readonly db: Db) {
    this.st = prepareAll(db, SQL);
    this.fills = new FillStore(db);
  }

  /** Caller holds the transaction of the decision this leg belongs to. */
  insertLeg(clientOrderId: string, epoch: string, seq: number, leg: OrderLeg, now: number): void {
    this.st.insertIntent.run({
      client_order_id: clientOrderId,
      epoch,
      seq,
      leg: leg.leg,
      market: leg.market,
      side: leg.side,
      type: leg.type,
      amount: leg.amount,
      price: leg.limitPrice ?? null,
      ref_price: leg.refPrice,
      stop_loss: leg.stopLoss ?? null,
      take_profit: leg.takeProfit ?? null,
      order_params: leg.params ? JSON.stringify(leg.params) : null,
      now,
    });
  }

  /** `added`: false when the (seq, leg) existed already (nothing written). */
  add(i: NewIntent, now: number): { row: IntentRow; added: boolean } {
    const r = this.st.insertIntentOnce.run({ ...i, order_params: i.order_params ?? null, now });
    return { row: this.st.intentByLeg.get(i.epoch, i.seq, i.leg) as IntentRow, added: r.changes === 1 };
  }

  get(clientOrderId: string): IntentRow | undefined {
    return this.st.getIntent.get(clientOrderId) as IntentRow | undefined;
  }
  open(): IntentRow[] {
    return this.st.openIntents.all() as IntentRow[];
  }
  for(epoch: string, seq: number): IntentRow[] {
    return this.st.intentsFor.all(epoch, seq) as IntentRow[];
  }
  all(): IntentRow[] {
    return this.st.allIntents.all() as IntentRow[];
  }
  unprotectedEntries(): IntentRow[] {
    return this.st.unprotectedEntries.all() as IntentRow[];
  }

  /**
   * Record what the exchange says about an intent and, when it filled more, add the new point of its cumulative
   * fill as a fill fact (journal/fills.ts), atomically: the position is derived from fill facts, so a fill reported
   * twice (reconcile after a timeout, restart, the broker's event stream) is counted once.
   */
  update(clientOrderId: string, u: IntentUpdate, now: number): IntentRow {
    return this.db.transaction(() => {
      const prev = this.get(clientOrderId);
      if (!prev) throw new Error(`unknown intent ${clientOrderId}`);
      const { next, delta } = mergeFill(
        { filled: prev.filled, avgPrice: prev.avg_price, feeQuote: prev.fee_quote, feeBase: prev.fee_base },
        u,
      );
      if (delta && next.filled > 0)
        this.fills.add(
          {
            order: clientOrderId,
            market: prev.market,
            side: prev.side,
            cum: next.filled,
            avg: next.avgPrice ?? undefined,
            feeQuote: next.feeQuote,
            feeBase: next.feeBase,
            at: u.at ?? now,
          },
          now,
        );
      // Reports race (an order reply read before a fill event was applied, an old event late): a final state the
      // broker confirmed is never reopened by an older report.
      const status =
        FINAL_STATUSES.has(prev.status) && !FINAL_STATUSES.has(u.status) ? prev.status : u.status;
      this.st.updateIntent.run({
        client_order_id: clientOrderId,
        status,
        exchange_order_id: u.exchangeOrderId ?? null,
        filled: next.filled,
        avg_price: next.avgPrice,
        fee_quote: next.feeQuote,
        fee_base: next.feeBase,
        error: u.error ?? prev.error,
        attempts: u.attempts ?? prev.attempts,
        now,
      });
      return this.get(clientOrderId)!;
    })();
  }

  positions(): Position[] {
    return this.st.positions.all() as Position[];
  }
  totalRealized(): number {
    return (this.st.totalPnl.get() as { v: number }).v;
  }
  /** Realized P&L of fills since an instant (the daily limits' day start, which is venue-dependent). */
  /** P&L booked for `market` by the fill reported at `at` (a change row's time), or undefined. */
  realizedAt(market: string, at: number): number | undefined {
    return (this.st.realizedAt.get(market, at) as { v: number | null }).v ?? undefined;
  }
  realizedSince(ms: number): number {
    return (this.st.realizedSince.get(ms) as { v: number }).v;
  }
  ordersSince(ms: number): number {
    return (this.st.ordersSince.get(ms) as { n: number }).n;
  }
  roundTripsSince(since: number): number {
    return (this.st.roundTripsSince.get({ since }) as { n: number }).n;
  }
  /** The last entry per market, of those created at or after `since` (older ones can trip no cooldown). */
  lastTradeAt(since = -Infinity): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.st.lastEntries.all(since) as { market: string; at: number }[]) out[r.market] = r.at;
    return out;
  }
}
