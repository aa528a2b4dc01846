import type { Signal } from '@catalyst-signal/shared';
import type { Config } from './config.js';
import {
  builtinCalendar,
  decideEquity,
  decideEquityEarly,
  exposure,
  mapSymbol,
  newYorkDayStart,
  sessionAt,
  type BrokerClock,
  type CalendarDay,
  type Decision,
  type EquityAccount,
  type MarketInfo,
  type Position,
  type Session,
} from './decide/index.js';
import type { ExchangeAdapter } from './exchange/index.js';
import { PaperAdapter } from './exchange/paper.js';
import type { EquityVenue } from './exchange/equity-types.js';
import type { Journal } from './journal/index.js';

/**
 * The IO half of a US equity decision: gather the snapshot (broker calendar and clock, asset flags, last price,
 * quote, buying power, positions, journal counts) and hand it to the pure decideEquity(). A live venue
 * (exchange/alpaca.ts) answers through its EquityVenue methods; offline paper has no broker, so it uses the
 * built-in exchange calendar, the paper wallet's USD as buying power and cautious asset flags.
 */

/** The adapter is a broker with sessions and accounts (Alpaca), not a plain exchange. */
export function isEquityVenue(x: ExchangeAdapter): x is ExchangeAdapter & EquityVenue {
  const v = x as unknown as Record<string, unknown>;
  return ['account', 'clock', 'calendar', 'asset', 'positions'].every((k) => typeof v[k] === 'function');
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface Snapshot {
  calendar: CalendarDay[];
  clock: BrokerClock | undefined;
  market: MarketInfo | undefined;
  account: EquityAccount | undefined;
  quote: { bid: number; ask: number } | undefined;
  outside: Position[];
}

async function fromVenue(
  v: ExchangeAdapter & EquityVenue,
  symbol: string,
  now: number,
  own: readonly Position[],
): Promise<Snapshot> {
  const [days, clock, asset, account, quote, positions] = await Promise.all([
    v.calendar(isoDate(now - 86_400_000), isoDate(now + 7 * 86_400_000)),
    v.clock().catch(() => undefined),
    v.asset(symbol),
    v.account().catch(() => undefined),
    v.latestQuote(symbol).catch(() => undefined),
    v.positions().catch(() => [] as Awaited<ReturnType<EquityVenue['positions']>>),
  ]);
  const m = v.market(symbol) ?? v.market(`${symbol}/USD`);
  const market: MarketInfo | undefined = asset
    ? {
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
      }
    : undefined;
  // Shares in the account beyond what this client bought: opened by hand or by another tool.
  const mine = new Map(own.map((p) => [p.market, p.amount]));
  const outside = positions
    .map((p) => ({ market: p.symbol, extra: p.qty - (mine.get(p.symbol) ?? 0), avg: p.avgEntryPrice }))
    .filter((p) => p.extra > 0)
    .map((p) => ({ market: p.market, amount: p.extra, cost: p.extra * p.avg }));
  return {
    calendar: days,
    clock: clock ? { is_open: clock.isOpen } : undefined,
    market,
    account: account
      ? account.canTrade
        ? { buyingPower: account.buyingPower, equity: account.equity }
        : { buyingPower: 0, equity: account.equity }
      : undefined,
    quote: quote && quote.bid > 0 && quote.ask > 0 ? { bid: quote.bid, ask: quote.ask } : undefined,
    outside,
  };
}

/**
 * The session at `now` as the broker sees it (its calendar, its clock's is_open), or the built-in calendar
 * offline. Throws when the broker cannot be asked: the caller looks again later rather than guess.
 */
export async function sessionNow(exchange: ExchangeAdapter, now: number): Promise<Session> {
  if (!isEquityVenue(exchange)) return sessionAt(now, builtinCalendar(now - 86_400_000, 9));
  const [days, clock] = await Promise.all([
    exchange.calendar(isoDate(now - 86_400_000), isoDate(now + 7 * 86_400_000)),
    exchange.clock().catch(() => undefined),
  ]);
  return sessionAt(now, days, clock ? { is_open: clock.isOpen } : undefined);
}

export async function decideEquitySignal(
  deps: { config: Config; journal: Journal; exchange: ExchangeAdapter; now?: (() => number) | undefined },
  signal: Signal,
  now: number,
  opts: { held?: boolean } = {},
): Promise<Decision> {
  const { config, journal, exchange } = deps;
  const symbol = mapSymbol(signal.symbol, config.exchange);
  // What needs no broker state is decided before the (paced, ~2.4 s on Alpaca) broker reads.
  const early = decideEquityEarly(config, signal, now, journal.killSwitch().on, symbol);
  if (early) return early;
  const positions = journal.positions();
  let snap: Snapshot;
  // Offline paper may run a simulated market clock (paper.market_clock): it decides the session, nothing else.
  let marketNow = now;
  try {
    if (isEquityVenue(exchange)) snap = await fromVenue(exchange, symbol, now, positions);
    else {
      const free = (await exchange.balances()).free[exchange.quote] ?? 0;
      if (exchange instanceof PaperAdapter) marketNow = exchange.marketNow(now);
      snap = {
        calendar: builtinCalendar(marketNow - 86_400_000, 9),
        clock: undefined,
        market: exchange.market(symbol),
        account: { buyingPower: free, equity: free + exposure(positions) },
        quote: undefined,
        outside: [],
      };
    }
  } catch (e) {
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
  const last = await exchange.ticker(symbol).catch(() => undefined);
  // The broker reads take seconds, and the open's protection may journal an intent meanwhile: the decision's
  // clock is read after them, so it is never older than the journal state it compares against (cooldown).
  const at = Math.max(now, deps.now?.() ?? now);
  if (exchange instanceof PaperAdapter) marketNow = exchange.marketNow(at);
  else marketNow = at;
  const dayStart = newYorkDayStart(at);
  const state = {
    // Daily limits count the New York day (decide/risk.ts limitDay), not the UTC one.
    ...journal.decisionState(
      at,
      { freeQuote: snap.account.buyingPower, equity: snap.account.equity },
      dayStart,
    ),
    ...journal.equityCounts(at, dayStart, dayStart - 6 * 86_400_000),
    outsidePositions: snap.outside,
  };
  return decideEquity(config, {
    signal,
    now: at,
    market: snap.market,
    session: sessionAt(marketNow, snap.calendar, snap.clock),
    last,
    quote: snap.quote,
    account: snap.account,
    state,
    held: opts.held,
  });
}
