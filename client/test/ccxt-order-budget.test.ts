import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';

// An order never waits behind a read (issue 21, "zero reads before an order", the crypto side): the live ccxt
// adapter places orders through a ccxt instance of its own and reads through another, so reads queued in ccxt's
// throttle do not hold the order back. Binance's account read costs 20 weight units and the reading instance's
// rolling window holds 1,200 a minute: of 70 reads fired at once, the last ones wait in its queue while the order
// leaves. With one instance the order went out after every queued read.

let emu: BinanceEmulator;
let ex: CcxtAdapter | undefined;
beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
});
afterEach(async () => {
  await ex?.close();
  await emu.close();
});

describe('ccxt crypto adapter: orders have their own throttle budget', () => {
  it('an order placed while balance reads wait in the throttle leaves before them', async () => {
    const config = testConfig({
      mode: 'live',
      exchange: { id: 'binance', base_url: emu.url, timeout_ms: 10000 },
    });
    ex = await CcxtAdapter.create({
      config,
      secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
    });
    await ex.loadMarkets();
    expect(emu.requests.filter((r) => r === 'GET /api/v3/exchangeInfo')).toHaveLength(1);
    const reads = Array.from({ length: 70 }, () => ex!.balances());
    const order = await ex.createOrder({
      clientOrderId: 'budget-1',
      market: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.0004,
      refPrice: 60000,
    });
    await Promise.all(reads);
    expect(order.status).toBe('closed');
    const sent = emu.requests.filter((r) => r === 'GET /api/v3/account' || r === 'POST /api/v3/order');
    expect(sent.filter((r) => r.startsWith('GET'))).toHaveLength(70);
    // Sent while reads still waited in their queue: before the last of them.
    expect(sent.indexOf('POST /api/v3/order')).toBeLessThan(69);
  });
});
