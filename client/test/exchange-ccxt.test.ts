import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { ExchangeRejected } from '../src/exchange/types.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';

// The REAL ccxt.binance class against the emulator: ccxt's signing, market parsing and error mapping run for real.

let emu: BinanceEmulator;
let ex: CcxtAdapter;
const secrets = {
  serverKey: undefined,
  exchangeApiKey: 'k1',
  exchangeSecret: 's1',
  exchangePassword: undefined,
};

beforeAll(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k1', secret: 's1', balances: { USDT: 1000 } });
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
  });
  ex = await CcxtAdapter.create({ config, secrets });
  await ex.loadMarkets();
});
afterAll(async () => {
  await ex?.close();
  await emu?.close();
});

describe('ccxt binance against the emulator', () => {
  it('loads markets in one request and normalises steps and minimums', () => {
    expect(emu.requests.filter((r) => r.includes('exchangeInfo'))).toHaveLength(1);
    expect(emu.requests.some((r) => r.includes('/sapi/') || r.includes('fapi'))).toBe(false);
    const m = ex.market('BTC/USDT')!;
    expect(m).toMatchObject({
      base: 'BTC',
      quote: 'USDT',
      amountStep: 0.00001,
      priceStep: 0.01,
      minAmount: 0.00001,
      minCost: 5,
    });
  });

  it('reads balance, ticker and key restrictions', async () => {
    expect((await ex.balances()).free['USDT']).toBe(1000);
    expect(await ex.ticker('ETH/USDT')).toBe(3000);
    expect(await ex.withdrawalsEnabled()).toBe(false);
  });

  it('places a market order with our clientOrderId and reads it back by that id', async () => {
    const o = await ex.createOrder({
      clientOrderId: 'cs-test-1-e',
      market: 'BTC/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.0002,
      refPrice: 60000,
    });
    expect(o).toMatchObject({ status: 'closed', filled: 0.0002, average: 60000 });
    expect(o.feeBase).toBeCloseTo(0.0002 * 0.001, 12);
    expect(emu.ordersFor('cs-test-1-e')).toHaveLength(1);
    const again = await ex.fetchOrder('cs-test-1-e', 'BTC/USDT');
    expect(again).toMatchObject({ status: 'closed', filled: 0.0002, exchangeOrderId: o.exchangeOrderId });
    expect(await ex.fetchOrder('never-sent', 'BTC/USDT')).toBeUndefined();
  });

  it('maps -2010 insufficient balance and -1013 filter failures to rejections', async () => {
    const big = ex.createOrder({
      clientOrderId: 'cs-big',
      market: 'ETH/USDT',
      side: 'buy',
      type: 'market',
      amount: 10,
      refPrice: 3000,
    });
    await expect(big).rejects.toBeInstanceOf(ExchangeRejected);
    await expect(big).rejects.toMatchObject({ code: 'insufficient_funds' });
    const tiny = ex.createOrder({
      clientOrderId: 'cs-tiny',
      market: 'ETH/USDT',
      side: 'buy',
      type: 'market',
      amount: 0.001,
      refPrice: 3000,
    });
    await expect(tiny).rejects.toMatchObject({ code: 'invalid_order' });
    expect(emu.ordersFor('cs-big')).toHaveLength(0);
  });

  it('refuses a wrong secret as an authentication problem', async () => {
    const config = testConfig({ mode: 'live', exchange: { id: 'binance', base_url: emu.url } });
    const bad = await CcxtAdapter.create({ config, secrets: { ...secrets, exchangeSecret: 'wrong' } });
    await expect(bad.balances()).rejects.toMatchObject({ code: 'auth' });
  });
});
