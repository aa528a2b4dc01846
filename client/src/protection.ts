import type { Logger } from 'pino';
import type { Config } from './config.js';
import { floorToStep, incidentDetail, planProtection, roundToStep, type MarketInfo } from './decide/index.js';
import { PROTECT_LEG, type IntentRow, type Journal } from './journal/index.js';
import { clientOrderId } from './order-id.js';

/**
 * The one place protective exits are planned and placed, for both venues. Each is a journaled intent with its
 * own deterministic id (signal, leg), sent by the executor and reconciled like any order, so a restart between
 * a fill and its protection places it once. What differs is when it is due:
 *  - crypto spot: right after the entry fills (the executor calls protectFill), one sell;
 *  - US equities: a regular-hours entry carries its bracket (decide/equity-plan.ts); an extended-hours fill is
 *    protected at the regular open (at-open.ts calls protectAtOpen).
 */

export interface ProtectionDeps {
  journal: Journal;
  config: Config;
  log: Logger;
  now: () => number;
  market(symbol: string): MarketInfo | undefined;
  /** Send a journaled intent (Executor.execute). */
  execute(row: IntentRow): Promise<IntentRow>;
  /**
   * What the broker holds in a symbol now (undefined: not known fresh enough to size against). Absent on venues
   * without a broker view (paper, crypto spot): the journal is the only count there.
   */
  brokerHeld?: ((symbol: string) => number | undefined) | undefined;
}

/**
 * Crypto spot: one protective sell for a filled entry (spot cannot back a stop AND a take-profit without OCO).
 */
export async function protectFill(d: ProtectionDeps, entry: IntentRow): Promise<void> {
  const mode = d.config.execution.protective_orders;
  if (mode === 'off') return;
  const trigger = mode === 'stop_loss' ? entry.stop_loss : entry.take_profit;
  const m = d.market(entry.market);
  if (!trigger || !m) return;
  const amount = floorToStep(entry.filled - entry.fee_base, m.amountStep);
  const price = roundToStep(
    trigger * (1 - d.config.execution.protective_limit_offset_pct / 100),
    m.priceStep,
  );
  if (!(amount > 0) || amount < m.minAmount || amount * price < m.minCost) {
    d.log.warn(
      { clientOrderId: entry.client_order_id, amount },
      'filled amount below the exchange minimum: no protective order',
    );
    return;
  }
  const leg = mode === 'stop_loss' ? 'sl' : 'tp';
  const intent = d.journal.addIntent(
    {
      client_order_id: clientOrderId(
        d.journal.installSalt(),
        entry.epoch,
        entry.seq,
        leg,
        d.config.execution.client_order_id_max_len,
      ),
      epoch: entry.epoch,
      seq: entry.seq,
      leg,
      market: entry.market,
      side: 'sell',
      type: mode,
      amount,
      price,
      ref_price: entry.avg_price ?? entry.ref_price,
      stop_loss: mode === 'stop_loss' ? trigger : null,
      take_profit: mode === 'take_profit' ? trigger : null,
    },
    d.now(),
  );
  await d.execute(intent);
}

/** Why no protective order can be sized for `symbol` now, or undefined when the journal's `held` can be used. */
function protectionBlocked(d: ProtectionDeps, symbol: string, held: number): string | undefined {
  const incident = d.journal.openIncident(symbol);
  if (incident) return incidentDetail(incident);
  if (!d.brokerHeld) return undefined;
  const broker = d.brokerHeld(symbol);
  if (broker === undefined) return "the broker's positions are not known fresh enough; looking again later";
  if (broker < held - 1e-9)
    return `the broker holds ${broker} ${symbol}, this client's journal ${held}: waiting for reconciliation`;
  return undefined;
}

/**
 * US equities: the protective exit of one filled extended-hours entry at the regular open (OCO, stop or limit,
 * decide/at-open.ts planProtection); true when an order was placed.
 */
export async function protectAtOpen(
  d: ProtectionDeps,
  entry: IntentRow,
  /** One readable line; `first` runs only when the line is new (the caller remembers what it said). */
  say: (line: string, first?: () => void) => void,
): Promise<boolean> {
  const { journal, config, log } = d;
  if (journal.killSwitch().on && !config.equities.exits_while_paused) return false;
  // Never more than this client still holds: an exit may have sold part of it before the open.
  const held = journal.positions().find((p) => p.market === entry.market)?.amount ?? 0;
  // Never more than the broker holds either: a sell above it is refused (403) and leaves the entry unprotected.
  // The journal's count is used only when the broker's agrees; otherwise reconciliation says why, and the friend.
  const skip = protectionBlocked(d, entry.market, held);
  if (skip) {
    // The caller dedupes `say` (the open is looked at on every heartbeat); the log line goes with it.
    say(`protection for ${entry.market} not placed: ${skip}`, () =>
      log.warn({ clientOrderId: entry.client_order_id, symbol: entry.market }, `no protection yet: ${skip}`),
    );
    return false;
  }
  const plan = planProtection({
    market: entry.market,
    filled: Math.min(entry.filled - entry.fee_base, held),
    avgPrice: entry.avg_price,
    stopLoss: entry.stop_loss,
    takeProfit: entry.take_profit,
  });
  const id = clientOrderId(
    journal.installSalt(),
    entry.epoch,
    entry.seq,
    PROTECT_LEG,
    config.execution.client_order_id_max_len,
  );
  const p = plan.ok ? plan.plan : undefined;
  const row = journal.addIntent(
    {
      client_order_id: id,
      epoch: entry.epoch,
      seq: entry.seq,
      leg: PROTECT_LEG,
      market: entry.market,
      side: 'sell',
      type: p?.type ?? 'limit',
      amount: p?.amount ?? 0,
      price: p?.price ?? null,
      ref_price: entry.avg_price ?? entry.ref_price,
      stop_loss: p?.stopLoss ?? null,
      take_profit: p?.takeProfit ?? null,
      order_params: p ? JSON.stringify(p.params) : null,
    },
    d.now(),
  );
  if (!p) {
    // Journaled as never sent, so the open does not try (and warn) again every minute.
    if (row.status === 'pending' && row.attempts === 0)
      journal.updateIntent(
        id,
        { status: 'abandoned', error: `no protection: ${plan.ok ? '' : plan.detail}` },
        d.now(),
      );
    log.warn({ clientOrderId: entry.client_order_id }, 'no protection placed at the open');
    say(`no protection placed at the open for ${entry.market}: ${plan.ok ? '' : plan.detail}`);
    return false;
  }
  const sent = await d.execute(row);
  log.info({ clientOrderId: id, status: sent.status }, 'protection placed at the open');
  say(`protection placed at the open: ${p.text} (${sent.status}${sent.error ? `: ${sent.error}` : ''})`);
  return sent.status === 'open' || sent.status === 'filled';
}
