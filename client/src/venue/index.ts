import type { Secrets } from '../config.js';
import { PaperAdapter } from '../exchange/paper.js';
import { cryptoSpotDriver } from './crypto-spot.js';
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
    return paperVenue(d, new PaperAdapter(journal, config, source));
  }
  if (x.venue === 'us_equity') {
    const { AlpacaAdapter } = await import('../exchange/alpaca.js');
    const { startAccountRefresh } = await import('../exchange/account-refresh.js');
    const alpaca = await AlpacaAdapter.create({ config, secrets: d.secrets });
    return alpacaDriver(d, alpaca, await warmState(alpaca, startAccountRefresh, d));
  }
  const { CcxtAdapter } = await import('../exchange/ccxt.js');
  return cryptoSpotDriver(d, await CcxtAdapter.create({ config, secrets: d.secrets }));
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
