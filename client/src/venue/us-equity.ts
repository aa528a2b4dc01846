import type { Signal } from '@catalyst-signal/shared';
import {
  withApprovalWait,
  actionOf,
  builtinCalendar,
  decideEquity,
  decideEquityEarly,
  exposure,
  incidentSkip,
  mapSymbol,
  newYorkDayStart,
  sessionAt,
  settledWithoutPrice,
  type BrokerClock,
  type CalendarDay,
  type Decision,
  type EquityAccount,
  type MarketInfo,
  type Position,
  type Session,
} from '../decide/index.js';
import { assertVenueTradable } from '../exchange/account-guard.js';
import type { ExchangeAdapter } from '../exchange/index.js';
import type { PaperAdapter } from '../exchange/paper.js';
import type { AssetInfo, EquityVenue, Quote } from '../exchange/equity-types.js';
import type { AccountState, Stale, WarmFact } from './account-state.js';
import { positionAdopter } from './adopt-positions.js';
import type { AlpacaAdapter } from '../exchange/alpaca.js';
import { catchUpEvents } from '../follow.js';
import type { DecideOpts, DriverDeps, VenueDriver } from './types.js';
import { positionReconciler } from './reconcile-positions.js';

/**
 * The US equity driver: gather the snapshot (broker calendar and clock, asset flags, last price, quote, buying
 * power, positions, journal counts) and hand it to the pure decideEquity(). Where the broker's facts come from
 * is its EquityBroker: Alpaca live (exchange/alpaca.ts), or the paper twin, which has no broker and uses the
 * built-in exchange calendar, the paper wallet's USD as buying power and cautious asset flags.
 */

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface EquitySnapshot {
  calendar: CalendarDay[];
  clock: BrokerClock | undefined;
  market: MarketInfo | undefined;
  account: EquityAccount | undefined;
  quote: { bid: number; ask: number } | undefined;
  outside: Position[];
  /** Shares of the symbol the broker holds now (all of them, this client's and others'), when it was asked. */
  brokerHeld?: number | undefined;
}

/** A warm fact the decision needs is past its staleness bound: the decision is refused, not guessed. */
export class StateStale extends Error {}

/** Where the US equity driver reads the broker's state. */
export interface EquityBroker {
  /**
   * Everything one symbol's decision needs but the price (quote undefined); throws when the broker cannot be
   * asked, StateStale when a warm fact is too old.
   */
  snapshot(symbol: string, now: number, own: readonly Position[]): Promise<EquitySnapshot>;
  /**
   * Last price and quote in one market-data request, asked only when the decision depends on them. Absent: the
   * driver asks the adapter's ticker (paper).
   */
  price?(symbol: string): Promise<{ last: number | undefined; quote: EquitySnapshot['quote'] }>;
  /** The session at `now`; throws when the broker cannot be asked. */
  session(now: number): Promise<Session>;
  /** The market time at real time `now`: a paper twin may run a simulated clock; a broker's is real time. */
  marketNow(now: number): number;
  /**
   * Bring the journal up to what the broker did (its order events read back over REST): asked before an exit
   * when the journal and the broker disagree on the shares held, so a fill that has not reached the journal yet
   * (stream down or lagging) is not answered with "nothing held" - and a stop that already sold is.
   */
  catchUp?(): Promise<void>;
}

type AlpacaVenue = ExchangeAdapter &
  EquityVenue & {
    priceSnapshot(symbol: string): Promise<{ last: number | undefined; quote: Quote | undefined }>;
  };

function equityMarket(
  v: ExchangeAdapter,
  symbol: string,
  asset: AssetInfo | undefined,
): MarketInfo | undefined {
  if (!asset) return undefined;
  const m = v.market(symbol) ?? v.market(`${symbol}/USD`);
  return {
    symbol,
    base: symbol,
    quote: 'USD',
    venue: 'us_equity',
    amountStep: asset.fractionable ? 1e-9 : 1,
    priceStep: 0.0001,
    minAmount: m?.minAmount ?? 1,
    minCost: m?.minCost ?? 0,
    equity: {
      tradable: asset.tradable && asset.status === 'active',
      fractionable: asset.fractionable,
      shortable: asset.shortable,
      fractionalExtendedHours: asset.fractionalExtendedHours,
    },
  };
}

/** Shares in the account beyond what this client bought: opened by hand or by another tool. */
function outsideOf(
  positions: readonly { symbol: string; qty: number; avgEntryPrice: number }[],
  own: readonly Position[],
): Position[] {
  const mine = new Map(own.map((p) => [p.market, p.amount]));
  return positions
    .map((p) => ({ market: p.symbol, extra: p.qty - (mine.get(p.symbol) ?? 0), avg: p.avgEntryPrice }))
    .filter((p) => p.extra > 0)
    .map((p) => ({ market: p.market, amount: p.extra, cost: p.extra * p.avg }));
}

const spendable = (a: { canTrade: boolean; buyingPower: number; equity: number }): EquityAccount =>
  a.canTrade ? { buyingPower: a.buyingPower, equity: a.equity } : { buyingPower: 0, equity: a.equity };

const usableQuote = (q: Quote | undefined) =>
  q && q.bid > 0 && q.ask > 0 ? { bid: q.bid, ask: q.ask } : undefined;

const price = (v: AlpacaVenue) => async (symbol: string) => {
  const p = await v.priceSnapshot(symbol).catch(() => ({ last: undefined, quote: undefined }));
  return { last: p.last, quote: usableQuote(p.quote) };
};

const staleText = (s: Stale) =>
  s.ageMs === undefined
    ? `broker ${s.fact} never read (the background refresh is failing)`
    : `broker ${s.fact} is ${Math.round(s.ageMs / 1000)} s old (bound ${s.limitMs / 1000} s)`;

/** What an equity decision needs warm; the broker's clock is optional (without it the calendar decides). */
const NEEDED: readonly WarmFact[] = ['account', 'positions', 'assets', 'calendar'];

/**
 * Alpaca live, from the warm account state (venue/account-state.ts): no trading-API request at all; the price is
 * one market-data request, made only when the decision depends on it. A fact past its bound refuses the decision.
 */
export function warmAlpacaBroker(
  v: AlpacaVenue,
  state: AccountState,
  catchUp?: () => Promise<void>,
): EquityBroker {
  return {
    ...(catchUp ? { catchUp } : {}),
    snapshot(symbol, now, own) {
      const stale = state.stale(NEEDED, now);
      if (stale) return Promise.reject(new StateStale(staleText(stale)));
      const account = state.account()!;
      return Promise.resolve({
        calendar: state.calendar(),
        clock: state.brokerClock(now),
        market: equityMarket(v, symbol, state.asset(symbol)),
        account: spendable(account),
        quote: undefined,
        outside: outsideOf(state.positions(), own),
        brokerHeld: state.positions().find((p) => p.symbol === symbol)?.qty ?? 0,
      });
    },
    price: price(v),
    session(now) {
      // The open's work asks this: a calendar past its bound is "cannot ask", as a failed read was.
      const stale = state.stale(['calendar'], now);
      if (stale) return Promise.reject(new StateStale(staleText(stale)));
      return Promise.resolve(sessionAt(now, state.calendar(), state.brokerClock(now)));
    },
    marketNow: (now) => now,
  };
}

/** Alpaca (live), read through on every decision: its calendar, clock, asset, account and positions. */
export function alpacaBroker(v: AlpacaVenue, catchUp?: () => Promise<void>): EquityBroker {
  return {
    ...(catchUp ? { catchUp } : {}),
    async snapshot(symbol, now, own) {
      const [days, clock, asset, account, positions] = await Promise.all([
        v.calendar(isoDate(now - 86_400_000), isoDate(now + 7 * 86_400_000)),
        v.clock().catch(() => undefined),
        v.asset(symbol),
        v.account().catch(() => undefined),
        v.positions().catch(() => [] as Awaited<ReturnType<EquityVenue['positions']>>),
      ]);
      return {
        calendar: days,
        clock: clock ? { is_open: clock.isOpen } : undefined,
        market: equityMarket(v, symbol, asset),
        account: account ? spendable(account) : undefined,
        quote: undefined,
        outside: outsideOf(positions, own),
        brokerHeld: positions.find((p) => p.symbol === symbol)?.qty ?? 0,
      };
    },
    price: price(v),
    async session(now) {
      const [days, clock] = await Promise.all([
        v.calendar(isoDate(now - 86_400_000), isoDate(now + 7 * 86_400_000)),
        v.clock().catch(() => undefined),
      ]);
      return sessionAt(now, days, clock ? { is_open: clock.isOpen } : undefined);
    },
    marketNow: (now) => now,
  };
}

/** The paper twin: no broker, the built-in calendar, the paper wallet, the simulated market clock if any. */
export function paperBroker(p: PaperAdapter): EquityBroker {
  return {
    async snapshot(symbol, now, own) {
      const free = p.freeBalance(p.quote);
      return {
        calendar: builtinCalendar(p.marketNow(now) - 86_400_000, 9),
        clock: undefined,
        market: p.market(symbol),
        account: { buyingPower: free, equity: free + exposure(own) },
        quote: undefined,
        outside: [],
      };
    },
    // On the simulated clock's time, like the decision: else the open's work (held signals, protection due at the
    // open) would wait for the real open while the demo's market is already trading.
    session: async (now) => {
      const market = p.marketNow(now);
      return sessionAt(market, builtinCalendar(market - 86_400_000, 9));
    },
    marketNow: (now) => p.marketNow(now),
  };
}

export function usEquityDriver(
  d: DriverDeps,
  exchange: ExchangeAdapter,
  broker: EquityBroker,
  extra: Pick<
    VenueDriver,
    'assertTradable' | 'marketClock' | 'accountState' | 'reconcilePositions' | 'events'
  > = {},
): VenueDriver {
  return {
    venue: 'us_equity',
    exchange,
    decide: (signal, now, opts) => decideEquitySignal(d, exchange, broker, signal, now, opts),
    session: (now) => broker.session(now),
    ...extra,
  };
}

/**
 * The live Alpaca driver: the account must be able to trade before a live start; it follows the broker's order
 * events. With `state` (what `run` uses), decisions read the warm account state; without, the broker is read on
 * every decision.
 */
export function alpacaDriver(
  d: DriverDeps,
  alpaca: AlpacaVenue & AlpacaEvents,
  state?: AccountState,
): VenueDriver {
  const now = d.now ?? Date.now;
  const catchUp = async () => {
    await catchUpEvents(d.journal, (since) => alpaca.eventsSince(since), now, state);
  };
  return usEquityDriver(
    d,
    alpaca,
    state ? warmAlpacaBroker(alpaca, state, catchUp) : alpacaBroker(alpaca, catchUp),
    {
      assertTradable: () => assertVenueTradable(alpaca),
      events: {
        name: 'alpaca trade_updates',
        follow: (sink) => {
          const s = alpaca.tradeStream({ ...sink, reconnect: d.config.server.reconnect, log: d.log });
          s.start();
          return s;
        },
        eventsSince: (since) => alpaca.eventsSince(since),
      },
      ...(state
        ? {
            accountState: state,
            reconcilePositions: positionReconciler(d.journal, state, d.log, catchUp, now),
          }
        : {}),
      ...(state && d.config.equities.outside_positions === 'adopt'
        ? { adoptOutside: positionAdopter(d.journal, state, d.log) }
        : {}),
    },
  );
}

/** What the Alpaca adapter adds for following the broker (exchange/alpaca.ts, alpaca-stream.ts). */
export type AlpacaEvents = Pick<AlpacaAdapter, 'tradeStream' | 'eventsSince'>;

/** An exit, or an avoid that exits (equities.avoid_exits): it sells what this client holds. */
const exiting = (config: DriverDeps['config'], s: Signal) => {
  const a = actionOf(s);
  return a === 'exit' || (a === 'avoid' && config.equities.avoid_exits);
};

async function decideEquitySignal(
  deps: DriverDeps,
  exchange: ExchangeAdapter,
  broker: EquityBroker,
  signal: Signal,
  now: number,
  opts: DecideOpts = {},
): Promise<Decision> {
  const { journal } = deps;
  const config = withApprovalWait(deps.config, opts.waitedMs);
  const symbol = mapSymbol(signal.symbol, config.exchange);
  // What needs no broker state is decided before any broker state is looked at.
  const early = decideEquityEarly(config, signal, now, journal.killSwitch().on, symbol);
  if (early) return early;
  // The journal and the broker disagree about this symbol: never traded around until the friend has looked.
  // (Checked here too, before any broker request; the pipeline's gate checks again right before the journal write.)
  const incident = journal.openIncident(symbol);
  if (incident) return incidentSkip(incident);
  let positions = journal.positions();
  let snap: EquitySnapshot;
  try {
    snap = await broker.snapshot(symbol, now, positions);
    const mine = positions.find((p) => p.market === symbol)?.amount ?? 0;
    if (
      exiting(config, signal) &&
      broker.catchUp &&
      snap.brokerHeld !== undefined &&
      snap.brokerHeld !== mine
    ) {
      await broker.catchUp();
      positions = journal.positions();
      const now2 = positions.find((p) => p.market === symbol)?.amount ?? 0;
      // What the journal now holds is no longer "outside" this client.
      snap = {
        ...snap,
        outside: snap.outside
          .map((p) => (p.market === symbol ? { ...p, amount: p.amount - (now2 - mine), cost: p.cost } : p))
          .filter((p) => p.amount > 1e-9),
      };
    }
  } catch (e) {
    if (e instanceof StateStale)
      return { verdict: 'skip', reason: 'skipped:state_stale', detail: e.message, legs: [] };
    return {
      verdict: 'skip',
      reason: 'skipped:exchange_unavailable',
      detail: `broker state could not be read: ${(e as Error).message}`,
      legs: [],
    };
  }
  if (!snap.account)
    return {
      verdict: 'skip',
      reason: 'skipped:exchange_unavailable',
      detail: 'account could not be read',
      legs: [],
    };
  const account = snap.account;
  const decideWith = (last: number | undefined, quote: EquitySnapshot['quote']) => {
    // The broker reads may take time, and the open's protection may journal an intent meanwhile: the decision's
    // clock is read after them, so it is never older than the journal state it compares against (cooldown).
    const at = Math.max(now, deps.now?.() ?? now);
    const dayStart = newYorkDayStart(at);
    const state = {
      // Daily limits count the New York day (decide/risk.ts limitDay), not the UTC one.
      ...journal.decisionState(
        at,
        { freeQuote: account.buyingPower, equity: account.equity },
        dayStart,
        at - config.risk.cooldown_per_symbol_ms,
      ),
      ...journal.equityCounts(at, dayStart, dayStart - 6 * 86_400_000),
      outsidePositions: snap.outside,
    };
    // Offline paper may run a simulated market clock (paper.market_clock): it decides the session, nothing else.
    const session = sessionAt(broker.marketNow(at), snap.calendar, snap.clock);
    // Journaled with the decision: the dashboard's P&L by session reads the session the signal met.
    const decision = decideEquity(config, {
      signal,
      now: at,
      market: snap.market,
      session,
      last,
      quote,
      account,
      state,
      held: opts.held,
    });
    return { ...decision, session: session.kind };
  };
  if (!broker.price) return decideWith(await exchange.ticker(symbol).catch(() => undefined), snap.quote);
  // Decided once without a price: a signal the filters, blocks or asset flags skip costs no request at all.
  const unpriced = decideWith(undefined, undefined);
  if (settledWithoutPrice(config, signal, unpriced)) return unpriced;
  const p = await broker.price(symbol);
  return decideWith(p.last, p.quote);
}
