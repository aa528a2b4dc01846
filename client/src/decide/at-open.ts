import type { Signal } from '@catalyst-signal/shared';
import type { EquitiesConfig } from '../config-equities.js';
import { roundEquityPrice } from './equity-plan.js';
import type { ReasonCode } from './reasons.js';
import { formatDuration, nyTimeText } from './time-text.js';
import type { OrderParams } from './types.js';

/**
 * What happens at the regular open, pure (time and state are arguments):
 *  - a signal held by hold_until_open is decided again if it is still within its hold age, else skipped;
 *  - an extended-hours entry that filled and had stop/target levels gets its protective exit (an OCO pair when
 *    both levels exist, else a single stop or take-profit limit), sized to the whole shares filled.
 */

/** How long a held signal may wait, from its ingestion: its own expires_at, else equities.hold_max_age_ms. */
export function holdMaxAgeMs(signal: Signal, eq: Pick<EquitiesConfig, 'hold_max_age_ms'>): number {
  const at = Date.parse(signal.ingested_at);
  if (signal.expires_at !== undefined) return Math.max(0, Date.parse(signal.expires_at) - at);
  return eq.hold_max_age_ms;
}

/** Past its hold age at `now`: the skip to journal; undefined while it may still be decided. */
export function heldExpiry(
  signal: Signal,
  now: number,
  eq: Pick<EquitiesConfig, 'hold_max_age_ms'>,
): { reason: ReasonCode; detail: string } | undefined {
  if (signal.expires_at !== undefined && Date.parse(signal.expires_at) <= now)
    return {
      reason: 'skipped:expired',
      detail: `held until the open, expired at ${nyTimeText(Date.parse(signal.expires_at))}`,
    };
  const age = now - Date.parse(signal.ingested_at);
  const max = holdMaxAgeMs(signal, eq);
  if (age > max)
    return {
      reason: 'skipped:open_too_late',
      detail: `held ${formatDuration(age)}, more than the hold age of ${formatDuration(max)}`,
    };
  return undefined;
}

export interface FilledEntry {
  market: string;
  /** Filled base amount (shares). */
  filled: number;
  avgPrice: number | null;
  stopLoss: number | null;
  takeProfit: number | null;
}

export interface ProtectionPlan {
  /** Intent type: limit (OCO parent = take-profit), stop_loss (a stop), take_profit (a resting limit). */
  type: 'limit' | 'stop_loss' | 'take_profit';
  amount: number;
  price: number | null;
  stopLoss: number | null;
  takeProfit: number | null;
  params: OrderParams;
  /** Readable, for the run output: "OCO sell 8 ACME take-profit 14.01 / stop 11.50". */
  text: string;
}

/**
 * The protective exit for a filled long entry, or why there is none. Whole shares only (Alpaca's OCO and GTC
 * orders are whole-share orders); GTC so it outlives the day; levels rounded on ticks away from the price.
 */
export function planProtection(
  e: FilledEntry,
): { ok: true; plan: ProtectionPlan } | { ok: false; detail: string } {
  const amount = Math.floor(e.filled + 1e-9);
  if (!(amount > 0)) return { ok: false, detail: `filled ${e.filled} is less than one whole share` };
  const sl = e.stopLoss !== null && e.stopLoss > 0 ? roundEquityPrice(e.stopLoss, 'down') : undefined;
  const tp = e.takeProfit !== null && e.takeProfit > 0 ? roundEquityPrice(e.takeProfit, 'up') : undefined;
  const base = { timeInForce: 'gtc', extendedHours: false } as const;
  if (sl !== undefined && tp !== undefined && tp > sl) {
    return {
      ok: true,
      plan: {
        type: 'limit',
        amount,
        price: tp,
        stopLoss: sl,
        takeProfit: tp,
        params: { ...base, orderClass: 'oco', takeProfit: tp, stopLoss: sl },
        text: `OCO sell ${amount} ${e.market} take-profit ${tp} / stop ${sl}`,
      },
    };
  }
  if (sl !== undefined)
    return {
      ok: true,
      plan: {
        type: 'stop_loss',
        amount,
        price: null,
        stopLoss: sl,
        takeProfit: null,
        params: { ...base, orderClass: 'simple', stopLoss: sl },
        text: `stop sell ${amount} ${e.market} at ${sl}`,
      },
    };
  if (tp !== undefined)
    return {
      ok: true,
      plan: {
        type: 'take_profit',
        amount,
        price: tp,
        stopLoss: null,
        takeProfit: tp,
        params: { ...base, orderClass: 'simple', takeProfit: tp },
        text: `limit sell ${amount} ${e.market} at ${tp}`,
      },
    };
  return { ok: false, detail: 'no stop or target level' };
}
