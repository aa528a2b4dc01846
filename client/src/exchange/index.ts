import type { Config, Secrets } from '../config.js';
import type { Journal } from '../journal/index.js';
import { PaperAdapter } from './paper.js';
import type { ExchangeAdapter } from './types.js';

export * from './types.js';
export { PaperAdapter } from './paper.js';
export { defaultMarket } from './markets.js';

/**
 * Build the adapter for a run. Paper without an exchange id never imports ccxt; paper with one uses ccxt for
 * public market data only (no keys are handed over, so a paper run can never place a real order).
 */
export async function createExchange(opts: {
  config: Config;
  secrets: Secrets;
  journal: Journal;
  live: boolean;
}): Promise<ExchangeAdapter> {
  const { config, journal } = opts;
  if (config.exchange.venue === 'us_equity') {
    // Paper is offline with the equity rules and the built-in calendar: no broker, no keys handed anywhere.
    if (!opts.live) return new PaperAdapter(journal, config);
    const { AlpacaAdapter } = await import('./alpaca.js');
    return AlpacaAdapter.create({ config, secrets: opts.secrets });
  }
  if (opts.live) {
    const { CcxtAdapter } = await import('./ccxt.js');
    return CcxtAdapter.create({ config, secrets: opts.secrets });
  }
  if (!config.exchange.id) return new PaperAdapter(journal, config);
  const { CcxtAdapter } = await import('./ccxt.js');
  return new PaperAdapter(journal, config, await CcxtAdapter.create({ config, secrets: undefined }));
}
