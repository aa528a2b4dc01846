import type { Decision, DecideConfig, DecisionInput, MarketInfo, OrderLeg } from './types.js';
import { actionOf } from './actions.js';
import type { ReasonCode } from './reasons.js';
import { driftPct, filterSignal, venueMarket } from './filters.js';
import { checkEntryRisk, checkExitRisk } from './risk.js';
import { applyEntryBlocks } from './blocks.js';
import { floorToStep, roundToStep, sizeEntry } from './sizing.js';

export * from './types.js';
export { REASONS, isReasonCode, reasonLabel, renderReasonReference, type ReasonCode } from './reasons.js';
export {
  mapSymbol,
  venueMarket,
  VENUE_ASSET_CLASS,
  filterSignal,
  signalAgeMs,
  type VenueMarket,
} from './filters.js';
export { floorToStep, ceilToStep, roundToStep, targetQuote } from './sizing.js';
export { exposure, limitDay, utcDay } from './risk.js';
export { nyTimeText } from './time-text.js';
export {
  decideEquity,
  decideEquityEarly,
  settledWithoutPrice,
  type EquityDecideConfig,
  type EquityInput,
  type EquityState,
  type EquityAccount,
} from './equity.js';
export {
  sessionAt,
  sessionGate,
  exitGate,
  exitCanSell,
  newYorkToUtc,
  newYorkDayStart,
  type BrokerClock,
  type CalendarDay,
  type Session,
  type SessionKind,
} from './sessions.js';
export { planEntry, planExit, equityTick, roundEquityPrice, onEquityTick } from './equity-plan.js';
export { actionOf, type SignalAction } from './actions.js';
export { builtinCalendar } from './us-calendar.js';
export { holdMaxAgeMs, heldExpiry, planProtection, type ProtectionPlan } from './at-open.js';
export { marketTime, realTimeAt, nextSessionChange, type MarketClock } from './market-clock.js';
export {
  deriveLedger,
  fillSteps,
  type FillFact,
  type FillStep,
  type Ledger,
  type LedgerPosition,
  type Realization,
} from './ledger.js';
export {
  needsApproval,
  pendingApproval,
  approvalStep,
  canAct,
  withApprovalWait,
  type ApprovalFacts,
  type ApprovalState,
  type ApprovalStep,
} from './approval.js';
export { gateIncidents, incidentDetail, incidentSkip, type OpenIncident } from './incident-gate.js';
export { nextReprice, repriceBound, type RepriceAction, type WorkingOrder } from './reprice.js';

/**
 * The decision pipeline: signal + world snapshot + time -> one Decision with a reason. Pure (no IO, no clock,
 * no randomness), so the same inputs always give the same decision and replay reproduces live behaviour.
 */

const skip = (reason: ReasonCode, detail?: string): Decision => ({
  verdict: 'skip',
  reason,
  detail,
  legs: [],
});

/** Signals that failed verification never reach the filters. */
export function rejectDecision(reason: ReasonCode, detail?: string): Decision {
  return { verdict: 'reject', reason, detail, legs: [] };
}

export function decide(cfg: DecideConfig, input: DecisionInput): Decision {
  // Exit blocks (issue 19 item 3) wrap the whole outcome, so no path below can enter a blocked symbol.
  return applyEntryBlocks(cfg.risk, input, decideSpot(cfg, input));
}

function decideSpot(cfg: DecideConfig, input: DecisionInput): Decision {
  const { signal, now, market, ticker, state } = input;
  if (state.killSwitch) return skip('skipped:kill_switch', 'paused (catalyst-client resume to continue)');
  // decide() is the crypto spot venue whatever the config says; us_equity goes through decideEquity().
  const venue = venueMarket(signal, { ...cfg.exchange, venue: 'crypto_spot' });
  if (!venue.ok) return skip(venue.reason, venue.detail);
  // An exit reduces risk: no entry filter (confidence, age, direction, allow-lists) may keep a position open.
  const exit = actionOf(signal) === 'exit';
  const filtered = exit ? expiredFilter(signal, now) : filterSignal(signal, now, cfg.filters);
  if (filtered) return skip(filtered.reason, filtered.detail);
  if (!market) return skip('skipped:no_market', `no exchange market for ${signal.symbol}`);
  // Every cap and balance is in exchange.quote: a market quoted otherwise only by the friend's own mapping.
  const quote = cfg.exchange.quote.toUpperCase();
  if (!venue.explicit && market.quote.toUpperCase() !== quote)
    return skip('skipped:foreign_quote', `${market.symbol} is quoted in ${market.quote}, not ${quote}`);
  if (exit) return sellHoldings(cfg, state, market, ticker ?? signal.price);
  if (cfg.filters.max_price_drift_pct !== undefined && ticker !== undefined) {
    const d = driftPct(signal.price, ticker);
    if (d > cfg.filters.max_price_drift_pct) {
      return skip(
        'skipped:price_drift',
        `ticker ${ticker} is ${d.toFixed(2)}% from signal price ${signal.price}`,
      );
    }
  }
  const ref = ticker ?? signal.price;

  if (signal.direction === 'short') {
    if (cfg.risk.short_on_spot === 'skip') return skip('skipped:short_on_spot', 'spot account cannot short');
    return sellHoldings(cfg, state, market, ref);
  }

  const risk = checkEntryRisk(cfg.risk, state, market.symbol, now);
  if ('reason' in risk) return skip(risk.reason, risk.detail);
  const limit = cfg.execution.order_type === 'limit';
  const price = limit ? roundToStep(ref * (1 + cfg.execution.limit_offset_pct / 100), market.priceStep) : ref;
  const size = sizeEntry(cfg.sizing, {
    signal,
    market,
    price,
    equity: state.equity,
    capQuote: risk.capQuote,
  });
  if (!size.ok) return skip(size.reason, size.detail);

  const stopLoss =
    signal.stop_loss !== undefined && signal.stop_loss < price
      ? signal.stop_loss
      : cfg.execution.stop_loss_pct !== undefined
        ? roundToStep(price * (1 - cfg.execution.stop_loss_pct / 100), market.priceStep)
        : undefined;
  const takeProfit =
    signal.take_profit !== undefined && signal.take_profit > price
      ? signal.take_profit
      : cfg.execution.take_profit_pct !== undefined
        ? roundToStep(price * (1 + cfg.execution.take_profit_pct / 100), market.priceStep)
        : undefined;
  const leg: OrderLeg = {
    leg: 'entry',
    market: market.symbol,
    side: 'buy',
    type: limit ? 'limit' : 'market',
    amount: size.amount,
    refPrice: ref,
    limitPrice: limit ? price : undefined,
    quote: size.quote,
    stopLoss,
    takeProfit,
  };
  return {
    verdict: 'trade',
    reason: size.raised ? 'trade:entry_raised_to_minimum' : 'trade:entry',
    detail: `buy ${size.amount} ${market.base} ~${size.quote.toFixed(2)} ${market.quote}`,
    legs: [leg],
  };
}

/** An exit signal past its expires_at is not acted on; nothing else about its age stops it. */
function expiredFilter(
  signal: DecisionInput['signal'],
  now: number,
): { reason: ReasonCode; detail: string } | undefined {
  if (signal.expires_at !== undefined && Date.parse(signal.expires_at) <= now)
    return { reason: 'skipped:expired', detail: `expired at ${signal.expires_at}` };
  return undefined;
}

/**
 * Sell what THIS client holds in the market (an exit signal, or a short with sell_holdings): never more, never
 * a position opened by hand. The executor cancels this client's resting protective orders in the market first.
 */
function sellHoldings(
  cfg: DecideConfig,
  state: DecisionInput['state'],
  market: MarketInfo,
  ref: number,
): Decision {
  const held = state.positions.find((p) => p.market === market.symbol);
  if (!held || held.amount <= 0) return skip('skipped:no_holdings', `nothing held in ${market.symbol}`);
  const risk = checkExitRisk(cfg.risk, state);
  if (risk) return skip(risk.reason, risk.detail);
  const amount = floorToStep(held.amount, market.amountStep);
  if (!(amount > 0) || amount < market.minAmount || amount * ref < market.minCost) {
    return skip('skipped:below_minimum', `holding ${held.amount} is below the exchange minimum`);
  }
  const leg: OrderLeg = {
    leg: 'exit',
    market: market.symbol,
    side: 'sell',
    type: 'market',
    amount,
    refPrice: ref,
    quote: amount * ref,
  };
  return { verdict: 'trade', reason: 'trade:exit', detail: `sell ${amount} ${market.base}`, legs: [leg] };
}
