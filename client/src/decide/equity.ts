import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../config.js';
import { actionOf } from './actions.js';
import { holdMaxAgeMs } from './at-open.js';
import { planEntry, planExit } from './equity-plan.js';
import { filterSignal, signalAgeMs, venueMarket } from './filters.js';
import type { ReasonCode } from './reasons.js';
import { checkEntryRisk, checkExitRisk } from './risk.js';
import { exitGate, sessionGate, type Session } from './sessions.js';
import { targetQuote } from './sizing.js';
import { activeBlock, blockText, exitBlock } from './blocks.js';
import { formatDuration, nyTimeText } from './time-text.js';
import type { Decision, DecisionState, EntryBlock, MarketInfo, Position } from './types.js';

/**
 * The decision for a US equity signal: action (enter / exit / avoid / info), session, asset and account rules,
 * then the order plan. Pure like decide(): the session, quote, account and state are snapshots passed in.
 * Crypto spot keeps using decide() unchanged.
 */

export type EquityDecideConfig = Pick<
  Config,
  'filters' | 'sizing' | 'risk' | 'execution' | 'equities' | 'exchange'
>;

export interface EquityAccount {
  /** Alpaca buying_power (not cash): what an entry may spend. */
  buyingPower: number;
  /** Equity of the account (for equity_pct / risk_pct sizing). */
  equity: number;
}

export interface EquityState extends DecisionState {
  /** Positions in the account this client did not open (outside_positions policy decides if they count). */
  outsidePositions: readonly Position[];
  /** Symbol -> entry block in force, from earlier avoid and exit signals. */
  avoids: Readonly<Record<string, EntryBlock>>;
  /** Round trips (entry and exit of one symbol on one New York day) today and over the last 5 trading days. */
  roundTripsToday: number;
  roundTripsWeek: number;
}

export interface EquityInput {
  signal: Signal;
  now: number;
  /** Broker asset for the symbol (MarketInfo with `equity` flags), undefined when the broker has none. */
  market: MarketInfo | undefined;
  session: Session;
  /** Latest trade price, when known. */
  last: number | undefined;
  /** Latest quote, when known (spread guard). */
  quote?: { bid: number; ask: number } | undefined;
  account: EquityAccount;
  state: EquityState;
  /** Decided again at the open after hold_until_open: its age is bounded by the hold age, not max_signal_age_ms. */
  held?: boolean | undefined;
}

const skip = (reason: ReasonCode, detail?: string, extra: Partial<Decision> = {}): Decision => ({
  verdict: 'skip',
  reason,
  detail,
  legs: [],
  ...extra,
});

/**
 * The part of an equity decision that needs no broker state: the asset class, an info alert, the kill switch
 * (for anything but an exit) and an avoid that does not exit. Reading the broker costs several paced requests
 * (~2.4 s on Alpaca), so the caller decides these first; decideEquity() starts with the same function, so
 * the rule lives in one place. undefined: the broker's state is needed.
 */
export function decideEquityEarly(
  cfg: EquityDecideConfig,
  signal: Signal,
  now: number,
  killSwitch: boolean,
  symbol: string,
): Decision | undefined {
  const eq = cfg.equities;
  const action = actionOf(signal);
  // The asset class and a pair's quote currency (USD) are decided before anything else, broker reads included.
  const venue = venueMarket(signal, { ...cfg.exchange, venue: 'us_equity', quote: 'USD' });
  if (!venue.ok) return skip(venue.reason, venue.detail);
  if (action === 'info') return skip('skipped:action_info', 'alert without an action');

  // Exits (and avoids that exit) reduce risk: a pause stops them only when the user says so.
  const exiting = action === 'exit' || (action === 'avoid' && eq.avoid_exits);
  if (killSwitch && !(exiting && eq.exits_while_paused)) {
    const paused = skip('skipped:kill_switch', 'paused (catalyst-client resume to continue)');
    return action === 'exit' ? exitBlock(cfg.risk, symbol, now, paused) : paused;
  }

  if (action === 'avoid' && !eq.avoid_exits) {
    const avoidUntil = now + eq.avoid_window_ms;
    return skip('skipped:avoid_signal', blockText(symbol, avoidUntil, now), { avoidUntil });
  }
  return undefined;
}

/** Entry skips decided before decideEquity looks at any price: the same whatever the quote says. */
const ENTRY_SKIPS_BEFORE_PRICE: ReadonlySet<string> = new Set<ReasonCode>([
  'skipped:asset_class',
  'skipped:foreign_quote',
  'skipped:action_info',
  'skipped:kill_switch',
  'skipped:avoid_signal',
  'skipped:neutral',
  'skipped:direction',
  'skipped:symbol_denied',
  'skipped:symbol_not_allowed',
  'skipped:catalyst',
  'skipped:confidence',
  'skipped:expired',
  'skipped:stale',
  'skipped:avoid',
  'skipped:exited',
  'skipped:no_market',
  'skipped:not_tradable',
  'skipped:shorting_disabled',
  'skipped:not_shortable',
]);

/**
 * True when a decision made WITHOUT the last price and quote (decideEquity with both undefined) is final, so the
 * market-data request can be skipped: every skip an entry reaches before it looks at a price, every exit skip
 * but the size check, and a price-band skip that no price within filters.max_price_drift_pct of the signal's
 * could pass. A trade always needs the price; so do the skips after the price checks, because with a price the
 * reason could be an earlier one (drift, band, spread).
 */
export function settledWithoutPrice(cfg: EquityDecideConfig, signal: Signal, d: Decision): boolean {
  if (d.verdict === 'trade') return false;
  const action = actionOf(signal);
  const exiting = action === 'exit' || (action === 'avoid' && cfg.equities.avoid_exits);
  if (exiting) return d.reason !== 'skipped:below_minimum';
  if (ENTRY_SKIPS_BEFORE_PRICE.has(d.reason)) return true;
  const drift = cfg.filters.max_price_drift_pct;
  if (d.reason === 'skipped:price_band' && drift !== undefined) {
    const p = signal.price;
    return p * (1 + drift / 100) < cfg.equities.min_price || p * (1 - drift / 100) > cfg.equities.max_price;
  }
  return false;
}

export function decideEquity(cfg: EquityDecideConfig, input: EquityInput): Decision {
  const { signal, now, market, state } = input;
  const eq = cfg.equities;
  const action = actionOf(signal);
  const symbol = market?.symbol ?? signal.symbol.toUpperCase();
  const early = decideEquityEarly(cfg, signal, now, state.killSwitch, symbol);
  if (early) return early;

  if (action === 'avoid') {
    const avoidUntil = now + eq.avoid_window_ms;
    const blocked = blockText(symbol, avoidUntil, now);
    const exit = exitDecision(cfg, input, symbol);
    if (exit.verdict === 'trade')
      return { ...exit, reason: 'trade:exit_on_avoid', detail: `${exit.detail}; ${blocked}`, avoidUntil };
    // The sale waits for a session that can sell, like an exit's; the block starts now.
    if (exit.reason === 'deferred:exit_until_session')
      return { ...exit, detail: `${exit.detail}; ${blocked}`, avoidUntil };
    return skip('skipped:avoid_signal', `${blocked} (${exit.reason}: ${exit.detail ?? ''})`, { avoidUntil });
  }
  if (action === 'exit') return exitBlock(cfg.risk, symbol, now, exitDecision(cfg, input, symbol));
  return entryDecision(cfg, input, symbol);
}

function gate(cfg: EquityDecideConfig, input: EquityInput) {
  return sessionGate(cfg.equities.session_policy, input.session, {
    now: input.now,
    signalAt: Date.parse(input.signal.ingested_at),
    maxAgeMs: holdMaxAgeMs(input.signal, cfg.equities),
  });
}

function exitDecision(cfg: EquityDecideConfig, input: EquityInput, symbol: string): Decision {
  const { signal, now, market, state } = input;
  const eq = cfg.equities;
  if (signal.expires_at !== undefined && Date.parse(signal.expires_at) <= now)
    return skip('skipped:expired', `expired at ${nyTimeText(Date.parse(signal.expires_at))}`);
  if (!market?.equity) return skip('skipped:no_market', `no broker asset for ${symbol}`);
  if (!market.equity.tradable) return skip('skipped:not_tradable', `${symbol} is halted or not tradable`);
  // Only what THIS client holds: a position opened by hand or another tool is never sold by a signal.
  const held = state.positions.find((p) => p.market === symbol)?.amount ?? 0;
  if (!(held > 0)) return skip('skipped:no_holdings', `nothing held in ${symbol} by this client`);
  const g = exitGate(eq.session_policy, input.session);
  if (!g.ok) return skip(g.reason, g.detail, { retryAt: g.retryAt });
  const risk = checkExitRisk(cfg.risk, state);
  if (risk) return skip(risk.reason, risk.detail);
  const ref = input.last ?? signal.price;
  const plan = planExit(cfg.equities, {
    symbol,
    session: g.session,
    refPrice: ref,
    held,
    asset: market.equity,
  });
  if (!plan.ok) return skip('skipped:below_minimum', plan.detail);
  return {
    verdict: 'trade',
    reason: 'trade:exit',
    detail: `sell ${plan.leg.amount} ${symbol} (${g.session} session)`,
    legs: [plan.leg],
  };
}

function entryDecision(cfg: EquityDecideConfig, input: EquityInput, symbol: string): Decision {
  const { signal, now, market, state } = input;
  const eq = cfg.equities;
  // A held signal is old by design at the open: its age limit is the hold age (decide/at-open.ts).
  const filters = input.held ? { ...cfg.filters, max_signal_age_ms: holdMaxAgeMs(signal, eq) } : cfg.filters;
  const filtered = filterSignal(signal, now, filters);
  if (filtered) return skip(filtered.reason, filtered.detail);
  const blocked = activeBlock(state.avoids, [symbol, signal.symbol], now);
  if (blocked) return skip(blocked.reason, blocked.detail);
  if (!market?.equity) return skip('skipped:no_market', `no broker asset for ${symbol}`);
  const asset = market.equity;
  if (!asset.tradable) return skip('skipped:not_tradable', `${symbol} is halted or not tradable`);
  const short = signal.direction === 'short';
  if (short && !eq.allow_short) return skip('skipped:shorting_disabled', 'equities.allow_short is off');
  if (short && !asset.shortable)
    return skip('skipped:not_shortable', `${symbol} is not shortable at the broker`);

  const ref = input.last ?? signal.price;
  if (cfg.filters.max_price_drift_pct !== undefined && input.last !== undefined) {
    const d = (Math.abs(input.last - signal.price) / signal.price) * 100;
    if (d > cfg.filters.max_price_drift_pct)
      return skip('skipped:price_drift', `last ${input.last} is ${d.toFixed(2)}% from ${signal.price}`);
  }
  if (ref < eq.min_price || ref > eq.max_price)
    return skip('skipped:price_band', `${ref} outside ${eq.min_price}..${eq.max_price}`);
  if (eq.max_spread_pct !== undefined && input.quote) {
    const { bid, ask } = input.quote;
    const spread = bid > 0 && ask >= bid ? ((ask - bid) / ((ask + bid) / 2)) * 100 : Infinity;
    if (spread > eq.max_spread_pct)
      return skip(
        'skipped:spread',
        `spread ${Number.isFinite(spread) ? spread.toFixed(2) + '%' : 'unknown'} > ${eq.max_spread_pct}%`,
      );
  }
  if (eq.max_round_trips_per_day !== undefined && state.roundTripsToday >= eq.max_round_trips_per_day)
    return skip('skipped:round_trips', `${state.roundTripsToday} round trips today`);
  if (eq.max_round_trips_per_week !== undefined && state.roundTripsWeek >= eq.max_round_trips_per_week)
    return skip('skipped:round_trips', `${state.roundTripsWeek} round trips in 5 trading days`);

  const g = gate(cfg, input);
  if (!g.ok) return skip(g.reason, g.detail, { retryAt: g.retryAt });

  // Exposure counts outside positions only when asked; buying power (not cash) is the balance that limits.
  const positions =
    eq.outside_positions === 'count_toward_exposure'
      ? [...state.positions, ...state.outsidePositions.map((p) => ({ ...p, market: `outside:${p.market}` }))]
      : state.positions;
  const risk = checkEntryRisk(
    cfg.risk,
    { ...state, positions, freeQuote: input.account.buyingPower },
    symbol,
    now,
  );
  if ('reason' in risk) return skip(risk.reason, risk.detail);
  const maxQuote = Math.min(risk.capQuote, cfg.sizing.max_quote_per_trade);
  if (!(maxQuote > 0)) return skip('skipped:no_capacity', 'no room left under the caps or buying power');
  const wantQuote = Math.min(targetQuote(cfg.sizing, signal, ref, input.account.equity), maxQuote);

  const stopLoss =
    signal.stop_loss !== undefined && signal.stop_loss < ref
      ? signal.stop_loss
      : cfg.execution.stop_loss_pct !== undefined
        ? ref * (1 - cfg.execution.stop_loss_pct / 100)
        : undefined;
  const takeProfit =
    signal.take_profit !== undefined && signal.take_profit > ref
      ? signal.take_profit
      : cfg.execution.take_profit_pct !== undefined
        ? ref * (1 + cfg.execution.take_profit_pct / 100)
        : undefined;
  const plan = planEntry(eq, {
    symbol,
    side: short ? 'sell' : 'buy',
    session: g.session,
    refPrice: ref,
    maxQuote,
    wantQuote,
    asset,
    stopLoss: short ? undefined : stopLoss,
    takeProfit: short ? undefined : takeProfit,
    held: [...state.positions, ...state.outsidePositions].some((p) => p.market === symbol && p.amount !== 0),
  });
  if (!plan.ok) return skip('skipped:below_minimum', plan.detail);
  const l = plan.leg;
  return {
    verdict: 'trade',
    reason: 'trade:entry',
    detail: `${l.side} ${l.amount} ${symbol} ${l.params?.orderClass === 'bracket' ? 'bracket' : l.type} ~${l.quote.toFixed(2)} USD (${g.session} session, age ${formatDuration(signalAgeMs(signal, now))})${g.session === 'regular' && l.params?.protectAtOpen ? `; ${l.type === 'limit' ? 'limit entry' : 'adds to a held position'}: no bracket, protection placed after the fill` : ''}`,
    legs: [l],
  };
}
