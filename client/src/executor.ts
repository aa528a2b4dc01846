import type { Logger } from 'pino';
import type { Config } from './config.js';
import {
  ExchangeRejected,
  ExchangeUncertain,
  type ExchangeAdapter,
  type LegState,
  type OrderRequest,
  type OrderState,
} from './exchange/index.js';
import type { EquityOrderRequest, EquityVenue } from './exchange/equity-types.js';
import { FINAL_STATUSES, type IntentRow, type IntentStatus, type Journal } from './journal/index.js';
import { floorToStep, type OrderParams } from './decide/index.js';
import { protectFill } from './protection.js';

/**
 * Turns journaled order intents into exchange orders. Invariants:
 *  - an intent is on disk before its request is sent (the caller journals it with the decision);
 *  - the clientOrderId is deterministic, and before ANY resend the exchange is asked for that id, so one
 *    (seq, leg) can never become two orders;
 *  - when the exchange cannot answer that question, we stop and leave the intent pending for the next
 *    reconcile rather than guess.
 */

export type CrashPoint = 'after-intent' | 'after-send';

/** Test hook: die like a power cut at a chosen point, to prove restart reconciliation. */
function crashHook(point: CrashPoint): void {
  if (process.env['CATALYST_TEST_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}

function statusOf(o: OrderState): IntentStatus {
  if (o.status === 'closed') return 'filled';
  if (o.status === 'open') return 'open';
  if (o.status === 'rejected') return 'rejected';
  return 'canceled';
}

export class Executor {
  /**
   * clientOrderId -> the execution in progress. The pipeline, the reconcile timer and protective orders can
   * reach one intent at the same time; two senders that both saw "not found" would place two orders (Binance
   * accepts a reused clientOrderId once the first is filled). So one sender per intent; others join it.
   */
  private readonly inFlight = new Map<string, Promise<IntentRow>>();
  private reconciling: Promise<{ checked: number; resent: number; abandoned: number }> | undefined;

  constructor(
    private readonly journal: Journal,
    private readonly exchange: ExchangeAdapter,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Called right before an order request is written (latency measurement). */
    private readonly onSend?: (i: IntentRow) => void,
  ) {}

  private record(i: IntentRow, o: OrderState & { note?: string }, attempts: number): IntentRow {
    const row = this.journal.updateIntent(
      i.client_order_id,
      {
        error: o.note,
        status: statusOf(o),
        exchangeOrderId: o.exchangeOrderId,
        filled: o.filled,
        avgPrice: o.average,
        feeQuote: o.feeQuote,
        feeBase: o.feeBase,
        attempts,
      },
      this.now(),
    );
    this.log.info(
      { clientOrderId: i.client_order_id, status: row.status, filled: row.filled, avg: row.avg_price },
      'order recorded',
    );
    return row;
  }

  /** Ask the exchange about our id. 'unknown' means it could not tell: do not send. */
  private async lookup(i: IntentRow): Promise<OrderState | 'not_found' | 'unknown'> {
    try {
      // A working order that was replaced lives at the broker under its replacement's id (working-orders.ts);
      // a replace requested just before a kill may have happened: its id is asked first.
      for (const id of this.journal.reprices.candidates(i.client_order_id)) {
        const o = await this.exchange.fetchOrder(id, i.market);
        if (o) return o;
      }
      return 'not_found';
    } catch (e) {
      this.log.warn(
        { clientOrderId: i.client_order_id, err: (e as Error).message },
        'reconcile lookup failed',
      );
      return 'unknown';
    }
  }

  /** Send a pending intent; at most one order per clientOrderId ever. */
  execute(intent: IntentRow): Promise<IntentRow> {
    const id = intent.client_order_id;
    const running = this.inFlight.get(id);
    if (running) return running;
    const p = this.send(intent).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  private async send(intent: IntentRow): Promise<IntentRow> {
    const i = intent;
    if (FINAL_STATUSES.has(i.status) || i.status === 'open') return i;
    let attempts = i.attempts;
    let lastError = '';
    // A crypto spot exit (equity exits carry params and go through the broker's exitPosition).
    let sellAmount = i.amount;
    if (i.leg === 'exit' && i.side === 'sell' && !i.order_params) {
      const released = await this.releaseProtection(i);
      if (released === 'pending')
        return this.journal.updateIntent(
          i.client_order_id,
          {
            status: 'pending',
            error: 'a protective order in the market could not be cancelled yet',
            attempts,
          },
          this.now(),
        );
      if (released === 'nothing_held')
        return this.journal.updateIntent(
          i.client_order_id,
          { status: 'canceled', error: 'nothing left to sell: a protective order filled first', attempts },
          this.now(),
        );
      sellAmount = Math.min(i.amount, released);
    }
    for (let n = 0; n < this.config.execution.max_send_attempts; n++) {
      if (attempts > 0) {
        // A previous attempt may have executed (timeout, crash): the exchange decides, not our memory.
        const found = await this.lookup(i);
        if (found === 'unknown') break;
        if (found !== 'not_found') return this.recordAndProtect(i, found, attempts);
      }
      crashHook('after-intent');
      // No journal write here: the intent is already durable, and after a crash every non-final intent is
      // looked up by clientOrderId before anything is sent, so one fsync per order is enough.
      attempts += 1;
      this.onSend?.(i);
      try {
        const protective = i.type === 'stop_loss' || i.type === 'take_profit';
        const params = i.order_params ? (JSON.parse(i.order_params) as OrderParams) : undefined;
        const o = await this.sendOrder(i, params, {
          clientOrderId: i.client_order_id,
          market: i.market,
          side: i.side,
          // A stop with no limit price (protection placed at the open) is a plain stop: market once triggered.
          type: (protective && i.price !== null) || i.type === 'limit' ? 'limit' : 'market',
          amount: sellAmount,
          price: i.price ?? undefined,
          refPrice: i.ref_price,
          trigger: protective
            ? {
                kind: i.type as 'stop_loss' | 'take_profit',
                price: (i.type === 'stop_loss' ? i.stop_loss : i.take_profit)!,
              }
            : undefined,
          params,
        });
        crashHook('after-send');
        return this.recordAndProtect(i, o, attempts);
      } catch (e) {
        if (e instanceof ExchangeRejected) {
          this.log.warn(
            { clientOrderId: i.client_order_id, code: e.code, err: e.message },
            'order rejected by exchange',
          );
          return this.journal.updateIntent(
            i.client_order_id,
            { status: 'rejected', error: `${e.code}: ${e.message}`, attempts },
            this.now(),
          );
        }
        lastError = (e as Error).message;
        this.log.warn(
          {
            clientOrderId: i.client_order_id,
            attempt: attempts,
            err: lastError,
            uncertain: e instanceof ExchangeUncertain,
          },
          'order outcome unknown; reconciling',
        );
      }
    }
    // Last word: one more lookup so a late-executed order is recorded now rather than at the next reconcile.
    const found = await this.lookup(i);
    if (found !== 'unknown' && found !== 'not_found') return this.recordAndProtect(i, found, attempts);
    this.log.error(
      { clientOrderId: i.client_order_id, err: lastError },
      'order still unresolved; left pending for reconcile',
    );
    return this.journal.updateIntent(
      i.client_order_id,
      { status: 'pending', error: lastError || 'unresolved', attempts },
      this.now(),
    );
  }

  /**
   * One order request. US equity parameters travel both as `params` and as the Alpaca adapter's own fields
   * (time in force, extended hours, bracket); an exit that must first cancel this client's protective orders
   * goes through the venue's exitPosition, which does exactly that and is idempotent by our id.
   */
  private async sendOrder(
    i: IntentRow,
    params: OrderParams | undefined,
    req: OrderRequest,
  ): Promise<OrderState & { note?: string }> {
    if (!params) return this.exchange.createOrder(req);
    const venue = this.exchange as Partial<EquityVenue>;
    if (params.cancelProtectiveFirst && typeof venue.exitPosition === 'function') {
      const o = await venue.exitPosition({
        market: i.market,
        clientOrderId: i.client_order_id,
        amount: i.amount,
        type: req.type,
        price: req.price,
        timeInForce: params.timeInForce,
        extendedHours: params.extendedHours,
      });
      // Nothing left to sell at the broker: the exit has nothing to do (recorded as canceled, unfilled, and why).
      return (
        o ?? {
          ...req,
          exchangeOrderId: '',
          status: 'canceled',
          filled: 0,
          average: undefined,
          feeQuote: 0,
          feeBase: 0,
          note: 'nothing held at the broker: a protective leg or a sale outside this client sold it first',
        }
      );
    }
    const equityReq: EquityOrderRequest = {
      ...req,
      timeInForce: params.timeInForce,
      extendedHours: params.extendedHours,
      bracket:
        params.orderClass === 'bracket' && params.takeProfit !== undefined && params.stopLoss !== undefined
          ? { takeProfit: params.takeProfit, stopLoss: params.stopLoss }
          : undefined,
      oco:
        params.orderClass === 'oco' && params.takeProfit !== undefined && params.stopLoss !== undefined
          ? { takeProfit: params.takeProfit, stopLoss: params.stopLoss }
          : undefined,
    };
    return this.exchange.createOrder(equityReq);
  }

  /**
   * Before a crypto spot exit sells: cancel this client's resting protective orders (sl / tp) in the market. On
   * spot they hold the very balance the exit sells, so the sell would be refused (Binance -2010) and the
   * position left open. After each cancel the exchange's own state of the order decides: one that may still
   * rest keeps the exit pending (reconciled later, never sent into a refusal); one that filled meanwhile shrank
   * the position, so the exit sells only what this client still holds. Returns that amount.
   */
  private async releaseProtection(exit: IntentRow): Promise<number | 'pending' | 'nothing_held'> {
    const resting = this.journal
      .openIntents()
      .filter((p) => p.market === exit.market && (p.leg === 'sl' || p.leg === 'tp'));
    for (const p of resting) {
      await this.exchange.cancelOwnOrder?.(p.client_order_id, p.market).catch((e: Error) => {
        this.log.warn({ clientOrderId: p.client_order_id, err: e.message }, 'protective cancel failed');
      });
      const o = await this.lookup(p);
      if (o === 'unknown' || (o !== 'not_found' && o.status === 'open')) return 'pending';
      if (o === 'not_found')
        // Never reached the exchange: it must never be sent now that the position is being sold.
        this.journal.updateIntent(
          p.client_order_id,
          { status: 'canceled', error: 'cancelled before an exit', attempts: p.attempts },
          this.now(),
        );
      else this.record(p, o, p.attempts);
      this.log.info(
        { clientOrderId: p.client_order_id, exit: exit.client_order_id },
        'protective order released',
      );
    }
    const m = this.exchange.market(exit.market);
    const held = this.journal.positions().find((p) => p.market === exit.market)?.amount ?? 0;
    const amount = m ? floorToStep(held, m.amountStep) : held;
    if (!(amount > 0) || (m && amount < m.minAmount)) return 'nothing_held';
    return amount;
  }

  /**
   * Bring every non-final intent to a known state (run at start and periodically). A pending intent the
   * exchange has never seen is sent only while it is fresh; an old one is abandoned, never sent late.
   */
  private async recordAndProtect(i: IntentRow, o: OrderState, attempts: number): Promise<IntentRow> {
    const row = this.record(i, o, attempts);
    if (o.bracketLegs?.length) this.recordLegs(row, o.bracketLegs);
    // An exit that cancelled the bracket legs at the broker first: the journal follows now, not at the next reconcile.
    if (row.leg === 'exit' && row.order_params?.includes('"cancelProtectiveFirst":true'))
      for (const l of this.journal.openIntents())
        if (l.market === row.market && l.leg.startsWith('bracket_')) {
          const found = await this.lookup(l);
          if (found !== 'unknown' && found !== 'not_found') this.record(l, found, l.attempts);
        }
    if (row.status === 'filled' && row.leg === 'entry') await this.protect(row);
    return row;
  }

  /**
   * A bracket's legs, as the broker reports them beside their entry: each becomes an intent of its own (its
   * broker-made id, legs bracket_tp / bracket_sl) so its fill moves the position and history shows its state.
   * Never sent by this client: the row is written with the broker's state at once, and a lookup by its id finds
   * it at the broker after a crash in between.
   */
  private recordLegs(entry: IntentRow, legs: LegState[]): void {
    for (const l of legs) {
      const tp = l.leg === 'bracket_tp';
      const row = this.journal.addIntent(
        {
          client_order_id: l.state.clientOrderId,
          epoch: entry.epoch,
          seq: entry.seq,
          leg: l.leg,
          market: entry.market,
          side: entry.side === 'buy' ? 'sell' : 'buy',
          type: tp ? 'take_profit' : 'stop_loss',
          amount: l.state.amount,
          price: tp ? l.price : null,
          ref_price: entry.avg_price ?? entry.ref_price,
          stop_loss: tp ? null : l.price,
          take_profit: tp ? l.price : null,
        },
        this.now(),
      );
      if (row.client_order_id !== l.state.clientOrderId || FINAL_STATUSES.has(row.status)) continue;
      if (row.status === 'pending' || statusOf(l.state) !== 'open' || row.filled !== l.state.filled)
        this.record(row, l.state, row.attempts);
    }
  }

  /** Protection for a filled entry, planned and placed in protection.ts (the one place for both venues). */
  private protect(entry: IntentRow): Promise<void> {
    return protectFill(
      {
        journal: this.journal,
        config: this.config,
        log: this.log,
        now: this.now,
        market: (symbol) => this.exchange.market(symbol),
        execute: (row) => this.execute(row),
      },
      entry,
    );
  }

  /** One reconcile at a time: a run that waits on a slow exchange can outlast the timer that starts the next. */
  reconcileAll(): Promise<{ checked: number; resent: number; abandoned: number }> {
    return (this.reconciling ??= this.reconcileOnce().finally(() => (this.reconciling = undefined)));
  }

  private async reconcileOnce(): Promise<{ checked: number; resent: number; abandoned: number }> {
    if (this.config.execution.protective_orders !== 'off') {
      for (const e of this.journal.unprotectedEntries()) await this.protect(e);
    }
    let resent = 0;
    let abandoned = 0;
    const open = this.journal.openIntents();
    for (const i of open) {
      // Being sent right now: its sender decides; the next reconcile looks again.
      if (this.inFlight.has(i.client_order_id)) continue;
      const found = await this.lookup(i);
      if (found === 'unknown') continue;
      if (found !== 'not_found') {
        await this.recordAndProtect(i, found, i.attempts);
        continue;
      }
      if (i.status === 'open') {
        // Accepted once, now unknown to the exchange (pruned history): keep what we recorded, stop tracking.
        this.journal.updateIntent(
          i.client_order_id,
          { status: 'canceled', error: 'no longer known to the exchange' },
          this.now(),
        );
        continue;
      }
      // The lookup took time: if the intent was sent or recorded meanwhile, "not found" may be stale.
      const cur = this.journal.intent(i.client_order_id);
      if (
        this.inFlight.has(i.client_order_id) ||
        !cur ||
        cur.status !== i.status ||
        cur.attempts !== i.attempts ||
        cur.updated_at !== i.updated_at
      )
        continue;
      if (
        this.now() - i.created_at <= this.config.execution.resend_window_ms &&
        !this.journal.killSwitch().on
      ) {
        this.log.warn(
          { clientOrderId: i.client_order_id },
          'intent never reached the exchange; sending it now',
        );
        await this.execute({ ...i, attempts: 0 });
        resent += 1;
      } else {
        this.log.warn(
          { clientOrderId: i.client_order_id },
          'intent never reached the exchange and is too old (or paused); abandoned',
        );
        this.journal.updateIntent(
          i.client_order_id,
          { status: 'abandoned', error: 'not sent: too old or paused at reconcile' },
          this.now(),
        );
        abandoned += 1;
      }
    }
    return { checked: open.length, resent, abandoned };
  }
}
