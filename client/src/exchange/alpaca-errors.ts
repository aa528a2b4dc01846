import type * as CcxtNs from 'ccxt';
import { httpFailure } from './alpaca-ccxt.js';
import { ExchangeRejected, ExchangeUncertain } from './types.js';

/**
 * Alpaca error -> "refused, nothing happened" (ExchangeRejected) or "unknown, reconcile" (ExchangeUncertain).
 * The HTTP status is read FIRST: ccxt turns Alpaca's definitive 403 refusals (insufficient buying power or qty,
 * not fractionable, not authorised to trade, day-trading protection) into ExchangeNotAvailable, a NetworkError,
 * which a generic "network -> retry" rule would resend.
 */

/** Alpaca error codes we act on. */
export const ALPACA_CODES = {
  /** 403: a rule refused the order (buying power, qty available, fractionable, account). */
  forbidden: 40310000,
  /** 403: pattern-day-trading protection (retired 2026-06-04, kept for old replies). */
  pdt: 40310100,
  /** 422/400: malformed or duplicate (client_order_id must be unique). */
  invalid: 40010001,
  /** 422: a trading rule refused the order (ticks, sessions, brackets). */
  unprocessable: 42210000,
  /** 404: no such order/asset/position. */
  notFound: 40410000,
  /** 401: keys not accepted. */
  unauthorized: 40110000,
} as const;

/** Rejection codes this venue adds to ExchangeRejected.code. */
export function refusalCode(message: string | undefined, code: number | undefined): string {
  const m = (message ?? '').toLowerCase();
  if (code === ALPACA_CODES.pdt) return 'day_trading_protection';
  if (m.includes('buying power') || m.includes('insufficient balance')) return 'insufficient_funds';
  if (m.includes('insufficient qty')) return 'insufficient_qty';
  if (m.includes('not fractionable')) return 'not_fractionable';
  if (m.includes('not authorized to trade') || m.includes('rejected by user request'))
    return 'account_blocked';
  return 'refused';
}

/** Does this 422/400 say our client_order_id already exists at the broker? */
export const isDuplicateClientId = (message: string | undefined) =>
  /client_order_id must be unique/i.test(message ?? '');

export function classifyAlpaca(ccxt: typeof CcxtNs, e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const h = httpFailure(e);
  if (h) {
    if (h.status === 401 || (h.status === 403 && h.code === undefined))
      return new ExchangeRejected('auth', msg, { cause: e });
    if (h.status === 403) return new ExchangeRejected(refusalCode(h.message, h.code), msg, { cause: e });
    if (h.status === 400 || h.status === 422) {
      // The id is taken: an earlier attempt (whose reply we lost) may be that order. Reconcile, never resend.
      if (isDuplicateClientId(h.message)) return new ExchangeUncertain(msg, { cause: e });
      return new ExchangeRejected('invalid_order', msg, { cause: e });
    }
    if (h.status === 404 && h.code === ALPACA_CODES.notFound)
      return new ExchangeRejected('not_found', msg, { cause: e });
    // 429, 5xx, a 404 without Alpaca's code (wrong URL, proxy): we could not ask.
    return new ExchangeUncertain(msg, { cause: e });
  }
  // No HTTP reply: ccxt refused locally (no keys, amount below precision) or the transport failed.
  if (e instanceof ccxt.AuthenticationError) return new ExchangeRejected('auth', msg, { cause: e });
  if (e instanceof ccxt.NetworkError) return new ExchangeUncertain(msg, { cause: e });
  if (e instanceof ccxt.InvalidOrder || e instanceof ccxt.BadRequest || e instanceof ccxt.BadSymbol)
    return new ExchangeRejected('invalid_order', msg, { cause: e });
  if (e instanceof ccxt.ArgumentsRequired || e instanceof ccxt.NotSupported)
    return new ExchangeRejected('invalid_order', msg, { cause: e });
  return new ExchangeUncertain(msg, { cause: e });
}
