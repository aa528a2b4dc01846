import { AssetClass, effectiveAction, type Signal, type SignalAction } from '@catalyst-signal/shared';
import type { Config, VenueKind } from '../config.js';
import { formatDuration } from './time-text.js';
import type { ReasonCode } from './reasons.js';

/**
 * Signal filters: pure, no IO, no clock (time is passed in). Each returns the reason a signal is skipped, or
 * undefined to let it through. Order matters only for which reason is reported first.
 */

export type FilterConfig = Config['filters'];

type SymbolConfig = Pick<Config['exchange'], 'symbol_map' | 'quote'> & { venue?: VenueKind | undefined };

/** The asset class each venue trades, as a signal's `asset_class` names it. */
export const VENUE_ASSET_CLASS = {
  crypto_spot: AssetClass.crypto,
  us_equity: AssetClass.usEquity,
} as const satisfies Record<VenueKind, AssetClass>;

/** The friend's own mapping of a symbol, if any. Own keys only: "constructor" must not find Object.prototype's. */
function explicitMarket(symbol: string, exchange: SymbolConfig): string | undefined {
  const map = exchange.symbol_map;
  const upper = symbol.toUpperCase();
  if (Object.hasOwn(map, upper)) return map[upper];
  if (Object.hasOwn(map, symbol)) return map[symbol];
  return undefined;
}

/**
 * Signal symbol -> exchange market symbol, per venue: the explicit map wins; else on crypto spot `<SYMBOL>/<quote>`,
 * on US equities the ticker itself (Alpaca's symbol; a publisher's "AAPL/USD" is taken as AAPL). Says nothing about
 * whether the signal may trade there: venueMarket() does.
 */
export function mapSymbol(symbol: string, exchange: SymbolConfig): string {
  const explicit = explicitMarket(symbol, exchange);
  if (explicit) return explicit;
  const upper = symbol.toUpperCase();
  if (exchange.venue === 'us_equity') return upper.split('/')[0]!;
  // A publisher may already send a pair ("BTC/USDT").
  if (upper.includes('/')) return upper;
  return `${upper}/${exchange.quote.toUpperCase()}`;
}

export type VenueMarket =
  | { ok: true; market: string; /** the friend mapped it in exchange.symbol_map */ explicit: boolean }
  | { ok: false; reason: ReasonCode; detail: string };

/**
 * Whether a signal may trade on this venue at all, and in which market: decided from the signal and the config
 * alone, before any exchange call. A signal of another asset class never trades (a stock ticker that is also a
 * token would buy the token). A pair chooses its quote currency, and every cap, balance and P&L is counted in
 * exchange.quote, so a pair quoted in anything else ("ETH/BTC" on USDT) would turn "25" into 25 BTC: only a
 * pair in the configured quote passes, unless the friend mapped the symbol in exchange.symbol_map.
 */
export function venueMarket(
  signal: Pick<Signal, 'symbol' | 'asset_class'>,
  exchange: SymbolConfig,
): VenueMarket {
  const venue = exchange.venue ?? 'crypto_spot';
  const cls = signal.asset_class;
  if (cls !== undefined && cls !== VENUE_ASSET_CLASS[venue])
    return { ok: false, reason: 'skipped:asset_class', detail: `${cls} signal on a ${venue} venue` };
  const explicit = explicitMarket(signal.symbol, exchange);
  if (explicit) return { ok: true, market: explicit, explicit: true };
  const upper = signal.symbol.toUpperCase();
  const quote = exchange.quote.toUpperCase();
  const parts = upper.split('/');
  if (parts.length === 1)
    return { ok: true, market: venue === 'us_equity' ? upper : `${upper}/${quote}`, explicit: false };
  if (parts.length === 2 && parts[0] !== '' && parts[1] === quote)
    return { ok: true, market: venue === 'us_equity' ? parts[0]! : upper, explicit: false };
  return {
    ok: false,
    reason: 'skipped:foreign_quote',
    detail: `${upper} is not a market in ${quote} (exchange.quote); only exchange.symbol_map can allow it`,
  };
}

/** Age of a signal at `now`, measured from when the server committed it. */
export function signalAgeMs(signal: Signal, now: number): number {
  return now - Date.parse(signal.ingested_at);
}

/**
 * Actions that never pass as an entry: none of them may open a position. (decide() and decideEquity() handle an
 * exit before these filters, by selling what this client holds; this entry only keeps an exit from ever
 * passing for an entry.)
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
