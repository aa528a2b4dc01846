import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, readSecrets } from '../src/config.js';
import { mapSymbol } from '../src/decide/index.js';
import { defaultMarket } from '../src/exchange/markets.js';

// The venue seam: what is traded (crypto spot pairs, US equities) is separate from the mode (paper, live), and a
// config without `venue` means exactly what it meant before.

describe('exchange venue', () => {
  it('a config without venue is crypto_spot with every old default', () => {
    const c = parseConfig({ exchange: { id: 'binance', quote: 'usdc' } });
    expect(c.exchange).toMatchObject({ venue: 'crypto_spot', id: 'binance', quote: 'usdc', sandbox: false });
    expect(mapSymbol('btc', c.exchange)).toBe('BTC/USDC');
    const m = defaultMarket('BTC/USDC', c.exchange);
    expect(m).toMatchObject({ base: 'BTC', quote: 'USDC', minCost: 5 });
    expect(m!.venue).toBeUndefined();
  });

  it('us_equity: the alpaca block with its defaults; tickers are symbols; keys from the alpaca env names', () => {
    const c = parseConfig({ exchange: { venue: 'us_equity', symbol_map: { 'BRK-B': 'BRK.B' } } });
    expect(c.exchange).toMatchObject({
      venue: 'us_equity',
      id: 'alpaca',
      quote: 'USD',
      alpaca: {
        endpoint: 'paper',
        api_key_env: 'APCA_API_KEY_ID',
        secret_env: 'APCA_API_SECRET_KEY',
        feed: 'iex',
      },
    });
    expect(mapSymbol('aapl', c.exchange)).toBe('AAPL');
    expect(mapSymbol('AAPL/USD', c.exchange)).toBe('AAPL');
    expect(mapSymbol('brk-b', c.exchange)).toBe('BRK.B');
    expect(
      readSecrets(c, { APCA_API_KEY_ID: 'k', APCA_API_SECRET_KEY: 's', CATALYST_EXCHANGE_API_KEY: 'no' }),
    ).toMatchObject({
      exchangeApiKey: 'k',
      exchangeSecret: 's',
      exchangePassword: undefined,
    });
    expect(defaultMarket('AAPL', c.exchange)).toMatchObject({
      symbol: 'AAPL',
      base: 'AAPL',
      quote: 'USD',
      venue: 'us_equity',
      amountStep: 1,
      equity: { fractionable: false, shortable: false, tradable: true },
    });
    expect(defaultMarket('AAPL/USD', c.exchange)).toBeUndefined();
  });

  it('every error at once, including keys of the other venue and cross-field rules', () => {
    let err: ConfigError | undefined;
    try {
      parseConfig({
        exchange: { venue: 'us_equity', sandbox: true, alpaca: { feed: 'fast', endpoint: 'prod' } },
        equities: { min_price: 5, max_price: 1, session_policy: 'always' },
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = err!.issues.map((i) => i.path).sort();
    expect(paths).toEqual(
      expect.arrayContaining([
        'exchange',
        'exchange.alpaca.endpoint',
        'exchange.alpaca.feed',
        'equities.session_policy',
      ]),
    );
    expect(() => parseConfig({ exchange: { venue: 'forex' } })).toThrow(/exchange\.venue/);
    expect(() => parseConfig({ equities: { min_price: 5, max_price: 1 } })).toThrow(
      /equities\.max_price: smaller than min_price/,
    );
  });
});
