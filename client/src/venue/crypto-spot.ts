import type { Signal } from '@catalyst-signal/shared';
import {
  actionOf,
  decide,
  exposure,
  filterSignal,
  venueMarket,
  withApprovalWait,
  type Decision,
} from '../decide/index.js';
import type { ExchangeAdapter } from '../exchange/index.js';
import type { BrokerEventSource } from '../exchange/types.js';
import type { DecideOpts, DriverDeps, VenueDriver } from './types.js';

/**
 * The crypto spot driver (ccxt live, or its paper twin): a ticker and the free quote balance, then the pure
 * decide(). Live, it follows the exchange's order events (exchange/ccxt-follow.ts).
 */
export function cryptoSpotDriver(
  d: DriverDeps,
  exchange: ExchangeAdapter,
  marketClock?: VenueDriver['marketClock'],
  events?: BrokerEventSource,
): VenueDriver {
  return {
    venue: 'crypto_spot',
    exchange,
    decide: (signal, now, opts) => decideSpot(d, exchange, signal, now, opts),
    ...(marketClock ? { marketClock } : {}),
    ...(events ? { events } : {}),
  };
}

/** The markets a crypto read-back covers: those this client holds or has an order open in. */
export const followedMarkets = (journal: DriverDeps['journal']) => () => [
  ...journal.openIntents().map((i) => i.market),
  ...journal
    .positions()
    .filter((p) => p.amount > 0)
    .map((p) => p.market),
];

async function decideSpot(
  d: DriverDeps,
  exchange: ExchangeAdapter,
  signal: Signal,
  now: number,
  opts: DecideOpts = {},
): Promise<Decision> {
  const { journal } = d;
  const config = withApprovalWait(d.config, opts.waitedMs);
  const clock = d.now ?? Date.now;
  // A signal of another asset class or quote currency never reaches the exchange, not even for a price.
  const venue = venueMarket(signal, config.exchange);
  const market = venue.ok ? exchange.market(venue.market) : undefined;
  // Only pay for exchange round trips when the signal survives the cheap checks. An exit skips the entry
  // filters (decide() does too) but needs something this client holds.
  const exit = actionOf(signal) === 'exit';
  const cheapSkip =
    journal.killSwitch().on ||
    !market ||
    (exit
      ? !journal.positions().some((p) => p.market === market.symbol && p.amount > 0)
      : filterSignal(signal, now, config.filters) !== undefined);
  let ticker: number | undefined;
  let freeQuote: number | undefined = 0;
  if (!cheapSkip) {
    ticker = await exchange.ticker(market.symbol);
    // No balance, no sizing: an exchange outage is a journaled skip, not a crash of the whole client.
    freeQuote = await exchange.balances().then(
      (b) => b.free[exchange.quote] ?? 0,
      (e: Error) => (d.log.warn({ err: e.message }, 'balance unavailable'), undefined),
    );
  }
  if (freeQuote === undefined)
    return {
      verdict: 'skip',
      reason: 'skipped:exchange_unavailable',
      detail: 'balance could not be read',
      legs: [],
    };
  const positions = journal.positions();
  const state = journal.decisionState(clock(), { freeQuote, equity: freeQuote + exposure(positions) });
  return decide(config, { signal, now: clock(), market, ticker, state });
}
