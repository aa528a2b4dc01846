import type { Secrets } from '../config.js';
import { UsageError } from '../errors.js';
import { PaperAdapter } from '../exchange/paper.js';
import { signalPrices, walkPrices, quotePrices, type PriceSource } from '../paper/prices.js';
import { cryptoSpotDriver, followedMarkets } from './crypto-spot.js';
import type { DriverDeps, VenueDriver } from './types.js';
import { AccountState } from './account-state.js';
import type { AlpacaAdapter } from '../exchange/alpaca.js';
import type { startAccountRefresh } from '../exchange/account-refresh.js';
import { alpacaDriver, paperBroker, usEquityDriver } from './us-equity.js';

export type { DriverDeps, VenueDriver } from './types.js';
export { AccountState, WARM_FACTS, type AccountEvent, type WarmFact } from './account-state.js';
export { cryptoSpotDriver } from './crypto-spot.js';
export {
  alpacaBroker,
  alpacaDriver,
  paperBroker,
  usEquityDriver,
  warmAlpacaBroker,
  type EquityBroker,
} from './us-equity.js';

/**
 * The one place that asks which venue and which mode: everything else is handed the driver. Paper without an
 * exchange id never imports ccxt; paper with one uses ccxt for public market data only (no keys are handed
 * over, so a paper run can never place a real order).
 */
export async function createVenue(d: DriverDeps & { secrets: Secrets; live: boolean }): Promise<VenueDriver> {
  const { config, journal } = d;
  const x = config.exchange;
  if (!d.live) {
    // us_equity paper is offline with the equity rules and the built-in calendar: no broker, no keys anywhere.
    const source =
      x.venue === 'crypto_spot' && x.id
        ? await (await import('../exchange/ccxt.js')).CcxtAdapter.create({ config, secrets: undefined })
        : undefined;
    return paperVenue(
      d,
      new PaperAdapter(journal, config, source, Date.now(), { prices: await paperPrices(d) }),
    );
  }
  if (x.venue === 'us_equity') {
    const { AlpacaAdapter } = await import('../exchange/alpaca.js');
    const { startAccountRefresh } = await import('../exchange/account-refresh.js');
    const alpaca = await AlpacaAdapter.create({ config, secrets: d.secrets });
    return alpacaDriver(d, alpaca, await warmState(alpaca, startAccountRefresh, d));
  }
  const { CcxtAdapter } = await import('../exchange/ccxt.js');
  const { ccxtEventSource } = await import('../exchange/ccxt-follow.js');
  const ccxt = await CcxtAdapter.create({ config, secrets: d.secrets });
  const events = ccxtEventSource(ccxt, {
    symbols: followedMarkets(journal),
    reconnect: config.server.reconnect,
    pollMs: x.order_poll_ms,
    log: d.log,
  });
  return cryptoSpotDriver(d, ccxt, undefined, events);
}

/**
 * The warm account state of a live Alpaca account: read once now (the first signal finds it warm), then kept
 * fresh in the background until the adapter closes; our own order replies update it at once.
 */
export async function warmState(
  alpaca: AlpacaAdapter,
  start: typeof startAccountRefresh,
  d: Pick<DriverDeps, 'log' | 'now'>,
): Promise<AccountState> {
  const now = d.now ?? Date.now;
  const state = new AccountState();
  const refresh = start(alpaca, state, { log: d.log, now });
  alpaca.onClose(() => refresh.stop());
  alpaca.onOrder = (order, price) => state.apply({ kind: 'order', order, price }, now());
  await refresh.refreshAll();
  return state;
}

/** The paper twin of the configured venue, over a paper adapter (run, replay, tests). */
export function paperVenue(d: DriverDeps, paper: PaperAdapter): VenueDriver {
  const clock = d.config.paper.market_clock;
  const marketClock = clock ? { clock, origin: paper.clockOrigin } : undefined;
  return d.config.exchange.venue === 'us_equity'
    ? usEquityDriver(d, paper, paperBroker(paper), marketClock ? { marketClock } : {})
    : cryptoSpotDriver(d, paper, marketClock);
}

/**
 * Where paper fills find prices (paper.prices). alpaca hands the data keys to the market-data client only: it
 * asks for quotes, never for an order.
 */
export async function paperPrices(d: DriverDeps & { secrets: Secrets }): Promise<PriceSource> {
  const p = d.config.paper;
  const x = d.config.exchange;
  if (p.prices === 'walk')
    return walkPrices({
      seed: p.walk.seed,
      volatilityPctPerMin: p.walk.volatility_pct_per_min,
      reversionPerMin: p.walk.reversion_per_min,
    });
  if (p.prices !== 'alpaca' || x.venue !== 'us_equity') return signalPrices();
  const { exchangeApiKey: keyId, exchangeSecret: secret } = d.secrets;
  if (!keyId || !secret)
    throw new UsageError(
      `paper.prices alpaca reads quotes with your Alpaca data keys: set ${x.alpaca.api_key_env} and ${x.alpaca.secret_env} (or use paper.prices walk offline)`,
    );
  const { AlpacaMarketData } = await import('@catalyst-signal/shared/market-data');
  return quotePrices(new AlpacaMarketData({ keyId, secret, baseUrl: x.alpaca.base_url }));
}
