import { effectiveAction, type Signal, type SignalAction } from '@catalyst-signal/shared';
import type { Config, VenueKind } from '../config.js';
import { formatDuration } from '../duration.js';
import type { ReasonCode } from './reasons.js';

/**
 * Signal filters: pure, no IO, no clock (time is passed in). Each returns the reason a signal is skipped, or
 * undefined to let it through. Order matters only for which reason is reported first.
 */

export type FilterConfig = Config['filters'];

/**
 * Signal symbol -> exchange market symbol, per venue: the explicit map wins; else on crypto spot `<SYMBOL>/<quote>`,
 * on US equities the ticker itself (Alpaca's symbol; a publisher's "AAPL/USD" is taken as AAPL).
 */
export function mapSymbol(
  symbol: string,
  exchange: Pick<Config['exchange'], 'symbol_map' | 'quote'> & { venue?: VenueKind | undefined },
): string {
  const upper = symbol.toUpperCase();
  const explicit = exchange.symbol_map[upper] ?? exchange.symbol_map[symbol];
  if (explicit) return explicit;
  if (exchange.venue === 'us_equity') return upper.split('/')[0]!;
  // A publisher may already send a pair ("BTC/USDT", "BTC-USDT").
  if (upper.includes('/')) return upper;
  return `${upper}/${exchange.quote.toUpperCase()}`;
}

/** Age of a signal at `now`, measured from when the server committed it. */
export function signalAgeMs(signal: Signal, now: number): number {
  return now - Date.parse(signal.ingested_at);
}

/**
 * Actions this release never trades on: none of them may open a position. (exit and avoid get their own
 * handling in a later release; until then a held position is left as it is.)
 */
const ACTION_SKIPS: Record<Exclude<SignalAction, 'enter'>, { reason: ReasonCode; detail: string }> = {
  info: { reason: 'skipped:action_info', detail: 'an alert with no action is never traded' },
  avoid: { reason: 'skipped:action_avoid', detail: 'not an entry (avoid windows come in a later release)' },
  exit: {
    reason: 'skipped:action_exit_unsupported',
    detail: 'not handled in this release: any position is left as it is',
  },
};

export function filterSignal(
  signal: Signal,
  now: number,
  f: FilterConfig,
): { reason: ReasonCode; detail: string } | undefined {
  const sym = signal.symbol.toUpperCase();
  // A v1 neutral signal keeps its v1 reason; everything else that is not `enter` is an action we skip.
  if (signal.action === undefined && signal.direction === 'neutral')
    return { reason: 'skipped:neutral', detail: 'neutral signals are never traded' };
  const action = effectiveAction(signal);
  if (action !== 'enter') return ACTION_SKIPS[action];
  // enter (v2) or long/short (v1): the same from here on; the schema guarantees long or short.
  const dir = signal.direction;
  if (dir === undefined || dir === 'neutral' || !f.directions.includes(dir)) {
    return { reason: 'skipped:direction', detail: `${dir} not in filters.directions` };
  }
  if (f.symbols_deny.some((s) => s.toUpperCase() === sym))
    return { reason: 'skipped:symbol_denied', detail: sym };
  if (f.symbols_allow.length > 0 && !f.symbols_allow.some((s) => s.toUpperCase() === sym)) {
    return { reason: 'skipped:symbol_not_allowed', detail: sym };
  }
  if (f.catalysts.length > 0 && !f.catalysts.includes(signal.catalyst)) {
    return { reason: 'skipped:catalyst', detail: `${signal.catalyst} not in filters.catalysts` };
  }
  if (signal.confidence < f.min_confidence) {
    return { reason: 'skipped:confidence', detail: `${signal.confidence} < ${f.min_confidence}` };
  }
  if (signal.expires_at !== undefined && Date.parse(signal.expires_at) <= now) {
    return { reason: 'skipped:expired', detail: `expired at ${signal.expires_at}` };
  }
  const age = signalAgeMs(signal, now);
  if (age > f.max_signal_age_ms) {
    return {
      reason: 'skipped:stale',
      detail: `age ${formatDuration(age)} > ${formatDuration(f.max_signal_age_ms)}`,
    };
  }
  return undefined;
}

/** Drift of the current price from the signal's reference price, percent. */
export function driftPct(signalPrice: number, ticker: number): number {
  return (Math.abs(ticker - signalPrice) / signalPrice) * 100;
}
