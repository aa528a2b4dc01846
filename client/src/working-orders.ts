import type { Logger } from 'pino';
import type { Config } from './config.js';
import { nextReprice, type OrderParams } from './decide/index.js';
import { ExchangeRejected, type ExchangeAdapter, type OrderState } from './exchange/index.js';
import type { IntentRow, Journal, RepriceRow } from './journal/index.js';

/**
 * Working orders (equities.reprice_after_ms / max_reprices): an extended-hours limit entry that has not filled is
 * replaced toward the quote (decide/reprice.ts), with the broker's replace (Alpaca PATCH, not cancel + new), at
 * most max_reprices times, then cancelled. Each step is journaled before it is requested with its deterministic
 * id (`<entry id>-r<step>`), so a kill between the request and the answer is resolved at the next look by asking
 * the broker for that id: found, the step is done; absent, the same step is requested again under the same id
 * (the broker refuses a reused id). A step is never taken twice and never beyond the cap.
 */

export type WorkingCrashPoint = 'after-replace';

/** Test hook: die like a power cut between a replace request and its journal write. */
function crashHook(point: WorkingCrashPoint): void {
  if (process.env['CATALYST_TEST_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}

export interface WorkingOrdersDeps {
  journal: Journal;
  config: Config;
  log: Logger;
  exchange: ExchangeAdapter;
  now: () => number;
  /** One readable line per step (stdout for `run`). */
  report?: ((line: string) => void) | undefined;
  /** In-process tests: stand in for the crash hook (throw to abandon the look like a kill). */
  crash?: ((point: WorkingCrashPoint) => void) | undefined;
}

export class WorkingOrders {
  private running: Promise<number> | undefined;

  constructor(private readonly d: WorkingOrdersDeps) {}

  /** One look at every working order; returns how many were replaced or cancelled. Concurrent callers share it. */
  check(): Promise<number> {
    return (this.running ??= this.once().finally(() => (this.running = undefined)));
  }

  private async once(): Promise<number> {
    const { journal, config, exchange } = this.d;
    if (!exchange.replaceOrder || config.equities.max_reprices === 0) return 0;
    let changed = 0;
    for (const i of journal.openIntents()) {
      if (i.leg !== 'entry' || i.type !== 'limit' || i.status !== 'open' || !i.order_params) continue;
      const params = JSON.parse(i.order_params) as OrderParams;
      if (!params.extendedHours) continue;
      if (await this.work(i, params)) changed += 1;
    }
    return changed;
  }

  private async work(i: IntentRow, params: OrderParams): Promise<boolean> {
    const { journal, config, exchange, log, now } = this.d;
    let steps = journal.reprices.list(i.client_order_id);
    const pending = steps.find((s) => s.state === 'requested');
    if (pending) {
      if (!(await this.resolve(i, pending, steps, params))) return false;
      steps = journal.reprices.list(i.client_order_id);
    }
    const done = steps.filter((s) => s.state === 'done');
    const last = done.at(-1);
    const current = last?.order_id ?? i.client_order_id;
    const action = nextReprice(
      {
        side: i.side,
        limit: last?.price ?? i.price!,
        refPrice: i.ref_price,
        steps: steps.length,
        since: steps.at(-1)?.at ?? i.created_at,
      },
      await exchange.bestQuote?.(i.market).catch(() => undefined),
      now(),
      config.equities,
    );
    if (action.kind === 'wait') return false;
    if (action.kind === 'cancel') {
      await exchange.cancelOwnOrder?.(current, i.market);
      log.info({ clientOrderId: i.client_order_id, detail: action.detail }, 'working order cancelled');
      this.d.report?.(`working order ${i.market} cancelled: ${action.detail}`);
      return true;
    }
    const next = `${i.client_order_id}-r${action.step}`;
    journal.reprices.request(i.client_order_id, action.step, next, action.price, now());
    return this.replace(i, { step: action.step, order_id: next, price: action.price }, current, params);
  }

  /** Send one journaled step; true when the broker replaced the order. */
  private async replace(
    i: IntentRow,
    s: Pick<RepriceRow, 'step' | 'order_id' | 'price'>,
    current: string,
    params: OrderParams,
  ): Promise<boolean> {
    const { journal, exchange, log } = this.d;
    let o: OrderState;
    try {
      o = await exchange.replaceOrder!({
        current,
        next: s.order_id,
        price: s.price,
        market: i.market,
        timeInForce: params.timeInForce,
      });
    } catch (e) {
      if (e instanceof ExchangeRejected) {
        // Definitive (filled meanwhile, not replaceable): never resent; the entry's own state is read as usual.
        journal.reprices.settle(s.order_id, 'refused');
        log.warn({ clientOrderId: i.client_order_id, err: e.message }, 'replace refused');
        return false;
      }
      log.warn({ clientOrderId: i.client_order_id, err: (e as Error).message }, 'replace outcome unknown');
      return false;
    }
    this.d.crash?.('after-replace');
    crashHook('after-replace');
    journal.reprices.settle(s.order_id, 'done', o.exchangeOrderId);
    log.info({ clientOrderId: i.client_order_id, step: s.step, price: s.price }, 'working order replaced');
    this.d.report?.(`working order ${i.market} replaced: limit ${s.price} (step ${s.step})`);
    return true;
  }

  /**
   * A step journaled but not known to be done (a kill or an unknown answer): the broker says whether its id
   * exists. Found: done. Absent: requested again, the same step under the same id. Unknown: look again later.
   * True when the step is settled.
   */
  private async resolve(
    i: IntentRow,
    s: RepriceRow,
    steps: RepriceRow[],
    params: OrderParams,
  ): Promise<boolean> {
    const { journal, exchange } = this.d;
    let found: OrderState | undefined;
    try {
      found = await exchange.fetchOrder(s.order_id, i.market);
    } catch {
      return false;
    }
    if (found) {
      journal.reprices.settle(s.order_id, 'done', found.exchangeOrderId);
      return true;
    }
    const before = steps.filter((x) => x.state === 'done' && x.step < s.step).at(-1);
    await this.replace(i, s, before?.order_id ?? i.client_order_id, params);
    return (
      journal.reprices.list(i.client_order_id).find((x) => x.order_id === s.order_id)?.state !== 'requested'
    );
  }
}
