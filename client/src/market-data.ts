import { join } from 'node:path';
import { AlpacaMarketData, CachedMarketData, type MarketData } from '@catalyst-signal/shared/market-data';
import type { Context } from './context.js';
import { UsageError } from './errors.js';
import { SqliteBarStore } from './journal/bar-store.js';

export interface DataKeys {
  keyId: string;
  secret: string;
  baseUrl: string | undefined;
}

/**
 * The friend's own Alpaca data keys: the us_equity exchange keys, or APCA_API_KEY_ID / APCA_API_SECRET_KEY on a
 * crypto config. `why` completes the message when they are missing (checked before any other work).
 */
export function ownDataKeys(ctx: Context, why: string): DataKeys {
  const { config, secrets } = ctx;
  const x = config.exchange;
  const alpaca = x.venue === 'us_equity' ? x.alpaca : undefined;
  const keyEnv = alpaca?.api_key_env ?? 'APCA_API_KEY_ID';
  const secretEnv = alpaca?.secret_env ?? 'APCA_API_SECRET_KEY';
  const keyId = alpaca ? secrets.exchangeApiKey : process.env[keyEnv];
  const secret = alpaca ? secrets.exchangeSecret : process.env[secretEnv];
  if (!keyId || !secret)
    throw new UsageError(`${why} with your own Alpaca data keys: set ${keyEnv} and ${secretEnv}`);
  return { keyId, secret, baseUrl: alpaca?.base_url };
}

/** 1-minute bars with those keys, behind the bar cache `bars.sqlite` in the data directory: nothing closed is fetched twice. */
export function ownMarketData(ctx: Context, keys: DataKeys): { market: MarketData; close(): void } {
  const store = new SqliteBarStore(join(ctx.dataDir, 'bars.sqlite'));
  return {
    market: new CachedMarketData(new AlpacaMarketData(keys), store),
    close: () => store.close(),
  };
}
