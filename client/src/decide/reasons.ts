/**
 * Every decision reason code, with a one-line meaning: the single catalogue that decide/, the pipeline, `run`'s
 * report lines, `history` and docs/client.md (generated from here, checked by a test) all use. A code is
 * `<verdict>:<what>`; the part before the colon is the verdict (trade, skipped, rejected, deferred).
 * Codes are stored in journals: never rename one, only add.
 */
export const REASONS = {
  // trades
  'trade:entry': 'an entry (buy) sized and within every filter and limit',
  'trade:entry_raised_to_minimum': 'an entry raised to the exchange minimum (sizing.below_minimum: raise)',
  'trade:exit': 'sell what this client holds in the symbol (exit signal, or short with sell_holdings)',
  'trade:exit_on_avoid':
    'an avoid signal with equities.avoid_exits: sell what this client holds, then block entries',
  // signal filters
  'skipped:kill_switch': 'paused by the operator (catalyst-client resume to continue)',
  'skipped:neutral': 'neutral signals are never traded',
  'skipped:action_info': 'an info signal (alert without an action) never trades',
  'skipped:action_avoid': 'an avoid signal on crypto spot: not an entry (avoid windows are us_equity only)',
  'skipped:action_exit_unsupported':
    'older journals only: an exit signal on crypto spot before exits were handled (the position was left as it was)',
  'skipped:direction': 'the direction is not in filters.directions',
  'skipped:symbol_denied': 'the symbol is in filters.symbols_deny',
  'skipped:symbol_not_allowed': 'filters.symbols_allow is set and the symbol is not in it',
  'skipped:catalyst': 'the catalyst is not in filters.catalysts',
  'skipped:confidence': 'confidence below filters.min_confidence',
  'skipped:expired': 'the signal expired (expires_at) before it was decided',
  'skipped:stale': 'older than filters.max_signal_age_ms when decided',
  'skipped:asset_class': "the signal's asset class is not what this venue trades",
  'skipped:foreign_quote':
    'the symbol is a pair quoted in another currency than exchange.quote (not mapped in exchange.symbol_map)',
  'skipped:avoid': 'an earlier avoid signal blocks entries in this symbol for now',
  'skipped:exited':
    'an earlier exit signal (going concern, delisting, ...) blocks entries in this symbol for risk.exit_block_ms',
  'skipped:avoid_signal':
    'an avoid signal: nothing traded, entries in the symbol blocked for equities.avoid_window_ms',
  // market data and venue rules
  'skipped:no_market': 'no exchange market (or tradable asset) for the symbol',
  'skipped:price_drift':
    'the current price moved more than filters.max_price_drift_pct from the signal price',
  'skipped:exchange_unavailable': 'the balance (or account) could not be read from the exchange',
  'skipped:incident':
    'live us_equity: an unacknowledged position incident in the symbol (the broker and the journal disagree): no entry or exit until `catalyst-client incidents --ack ID`',
  'skipped:state_stale':
    'live us_equity: a broker fact the decision needs (account, positions, asset flags, calendar) is older than its staleness bound (docs/client-venues.md): the background refresh is failing',
  'skipped:short_on_spot': 'a short on a spot account with risk.short_on_spot: skip',
  'skipped:no_holdings': 'an exit or sell_holdings with nothing held by this client in the symbol',
  'skipped:not_tradable': 'the asset is halted or not tradable at the broker',
  'skipped:shorting_disabled': 'a short entry while equities.allow_short is off',
  'skipped:not_shortable': 'a short entry on an asset the broker does not allow shorting',
  'skipped:price_band': 'the price is outside equities.min_price .. equities.max_price',
  'skipped:spread': 'the latest quote spread is wider than equities.max_spread_pct',
  // sessions (US equities)
  'skipped:market_closed': 'no trading session now (night, weekend, exchange holiday)',
  'skipped:outside_regular_hours': 'pre-market or after-hours with equities.session_policy: regular_only',
  'skipped:open_too_late': 'hold_until_open, but the next open comes after the signal would be too old',
  'deferred:until_open': 'hold_until_open: held, to be decided again when the regular session opens',
  'deferred:exit_until_session':
    'an exit (or avoid that exits) while no sell can be placed: held, and decided again exactly once in the next session that can sell (extended hours with session_policy: extended, else the regular open), however long that is',
  // approval mode (approval:)
  'deferred:pending_approval':
    'approval mode: an entry that passed every filter and limit waits for the friend to approve it (dashboard or ntfy action) within approval.timeout_ms',
  'skipped:approval_expired': 'approval mode: no approval within approval.timeout_ms',
  'skipped:approval_rejected': 'approval mode: the friend rejected the entry',
  // risk limits
  'skipped:daily_loss': "today's realized loss reached risk.max_daily_loss_quote",
  'skipped:max_orders_per_day': 'risk.max_orders_per_day reached',
  'skipped:round_trips': 'equities.max_round_trips_per_day / _per_week reached (your own limit; no PDT rule)',
  'skipped:cooldown': 'this client entered the symbol less than risk.cooldown_per_symbol_ms ago',
  'skipped:max_open_positions': 'risk.max_open_positions positions already open',
  'skipped:symbol_exposure': 'the symbol is at risk.max_exposure_per_symbol_quote',
  'skipped:total_exposure': 'all positions are at risk.max_total_exposure_quote',
  'skipped:insufficient_balance': 'no free quote balance (crypto) or buying power (equities) left',
  'skipped:no_capacity': 'no room left under the caps or the balance',
  'skipped:below_minimum': 'the size is below the exchange minimum (or less than one whole share)',
  // verification
  'rejected:bad_signature':
    'replay only: a history signal failed signature verification (a live run never journals one: it asks another gateway or stops)',
} as const;

export type ReasonCode = keyof typeof REASONS;

/** True for a code in the catalogue (journals from older clients may hold codes no longer produced). */
export function isReasonCode(s: string): s is ReasonCode {
  return Object.hasOwn(REASONS, s);
}

/** Short human text of a code for one-line reports: "skipped:price_band" -> "price band". */
export function reasonLabel(code: string): string {
  return code.replace(/^[a-z]+:/, '').replace(/_/g, ' ');
}

/** The catalogue as a Markdown table (docs/client.md, between the reason-codes markers). */
export function renderReasonReference(): string {
  return [
    '| code | meaning |',
    '| --- | --- |',
    ...Object.entries(REASONS).map(([k, v]) => `| \`${k}\` | ${v.replace(/\|/g, '\\|')} |`),
  ].join('\n');
}
