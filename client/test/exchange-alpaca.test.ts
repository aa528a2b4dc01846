import * as ccxt from 'ccxt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { formatPrice } from '../src/exchange/alpaca-parse.js';
import { ExchangeRejected, ExchangeUncertain } from '../src/exchange/types.js';
import { nyToMs, startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import { testConfig } from './helpers/config.js';

// The REAL ccxt.alpaca class against the project's Alpaca emulator on 127.0.0.1: URL override, market parsing,
// request bodies and ccxt's own error mapping all run for real.

let emu: AlpacaEmulator;
let ex: AlpacaAdapter;

async function adapter(e: AlpacaEmulator, secret = e.secret): Promise<AlpacaAdapter> {
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'alpaca', base_url: e.url, timeout_ms: 1500 },
  });
  return AlpacaAdapter.create({
    config,
    secrets: {
      serverKey: undefined,
      exchangeApiKey: e.keyId,
      exchangeSecret: secret,
      exchangePassword: undefined,
    },
    rateLimitMs: 1,
    cancelSettleMs: 2000,
  });
}

beforeEach(async () => {
  emu = await startAlpacaEmulator(); // Monday 2026-11-23 10:00 New York, regular session
  ex = await adapter(emu);
  await ex.loadMarkets();
});
afterEach(async () => {
  await ex?.close();
  await emu?.close();
});

const buy = (cid: string, over: Partial<Parameters<AlpacaAdapter['createOrder']>[0]> = {}) =>
  ex.createOrder({
    clientOrderId: cid,
    market: 'AAPL/USD',
    side: 'buy',
    type: 'limit',
    amount: 2,
    price: 199.5,
    refPrice: 200,
    ...over,
  });
const lastPost = () => emu.requests.filter((r) => r.method === 'POST' && r.path === '/v2/orders').at(-1)!;

describe('markets', () => {
  it('loads us_equity assets with precision added inside fetchMarkets', () => {
    const assetReqs = emu.requests.filter((r) => r.path === '/v2/assets');
    expect(assetReqs).toHaveLength(1);
    expect(assetReqs[0]!.query).toMatchObject({ asset_class: 'us_equity', status: 'active' });
    expect(ex.market('AAPL/USD')).toMatchObject({
      base: 'AAPL',
      quote: 'USD',
      amountStep: 1e-9,
      priceStep: 1e-4,
    });
    expect(ex.market('PNNY')).toMatchObject({ amountStep: 1, minAmount: 1 });
    // markets_by_id is built from the same wrapped fetchMarkets, so it is not stale.
    const byId = (ex.ex as unknown as { markets_by_id: Record<string, { precision: { amount: number } }[]> })
      .markets_by_id;
    expect(byId['PNNY']![0]!.precision.amount).toBe(1);
  });

  it('rounds prices to Alpaca ticks: cents at or above $1, four decimals below', async () => {
    expect(formatPrice(11.055)).toBe('11.06');
    expect(formatPrice(11.05, 'down')).toBe('11.05');
    expect(formatPrice(11.051, 'up')).toBe('11.06');
    expect(formatPrice(0.51236)).toBe('0.5124');
    expect(formatPrice(0.99996)).toBe('1.00');
    await ex.createOrder({
      clientOrderId: 'cs-tick-1',
      market: 'PNNY/USD',
      side: 'buy',
      type: 'limit',
      amount: 100,
      price: 0.512367,
      refPrice: 0.51,
    });
    expect(lastPost().body).toMatchObject({ limit_price: '0.5124', qty: '100' });
    await ex.createOrder({ ...baseLow, clientOrderId: 'cs-tick-2', price: 3.20499 });
    expect(lastPost().body).toMatchObject({ limit_price: '3.2' });
    // The emulator enforces the rule itself (what Alpaca answers a sub-penny price with).
    const raw = (ex.ex as unknown as Record<string, (p: object) => Promise<unknown>>)[
      'traderPrivatePostV2Orders'
    ]!;
    const e = await raw
      .call(ex.ex, { ...lastPost().body, client_order_id: 'cs-tick-raw', limit_price: '3.205' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ccxt.BadRequest);
    expect(String((e as Error).message)).toMatch(/sub-penny increment/);
  });
});
const baseLow = {
  market: 'LOWP/USD',
  side: 'buy' as const,
  type: 'limit' as const,
  amount: 10,
  refPrice: 3.2,
};

describe('order kinds', () => {
  it('sends market and limit DAY orders with our client id and an explicit time_in_force; answered before filling', async () => {
    const m = await buy('cs-mkt', { type: 'market', price: undefined });
    expect(lastPost().body).toEqual({
      symbol: 'AAPL',
      side: 'buy',
      type: 'market',
      qty: '2',
      time_in_force: 'day',
      client_order_id: 'cs-mkt',
    });
    expect(m).toMatchObject({ status: 'open', venueStatus: 'accepted', filled: 0, clientOrderId: 'cs-mkt' });
    const l = await buy('cs-lmt');
    expect(lastPost().body).toMatchObject({ type: 'limit', limit_price: '199.5', time_in_force: 'day' });
    expect(l.status).toBe('open');
    emu.fill('cs-mkt', { price: 200.1 });
    expect(await ex.fetchOrder('cs-mkt', 'AAPL/USD')).toMatchObject({
      status: 'closed',
      filled: 2,
      average: 200.1,
    });
    // A quote that crosses the limit fills it (price feed control).
    emu.setQuote('AAPL', { bid: 199.3, ask: 199.4 });
    expect(await ex.fetchOrder('cs-lmt', 'AAPL/USD')).toMatchObject({ status: 'closed', average: 199.4 });
    expect((await ex.position('AAPL'))?.qty).toBe(4);
  });

  it('places a stop-limit exit for a stop_loss trigger and a resting limit for a take_profit', async () => {
    emu.setPosition('AAPL', 5, 200);
    await ex.createOrder({
      clientOrderId: 'cs-sl',
      market: 'AAPL/USD',
      side: 'sell',
      type: 'limit',
      amount: 2,
      price: 189.5,
      refPrice: 200,
      trigger: { kind: 'stop_loss', price: 190 },
    });
    expect(lastPost().body).toMatchObject({ type: 'stop_limit', stop_price: '190', limit_price: '189.5' });
    await ex.createOrder({
      clientOrderId: 'cs-tp',
      market: 'AAPL/USD',
      side: 'sell',
      type: 'limit',
      amount: 2,
      price: 219,
      refPrice: 200,
      trigger: { kind: 'take_profit', price: 220 },
    });
    expect(lastPost().body).toMatchObject({ type: 'limit', limit_price: '220', time_in_force: 'day' });
  });

  it('fractional orders: DAY simple orders of fractionable assets only', async () => {
    await buy('cs-frac', { type: 'market', price: undefined, amount: 0.5 });
    expect(lastPost().body).toMatchObject({ qty: '0.5', time_in_force: 'day' });
    await expect(buy('cs-frac-gtc', { amount: 0.5, timeInForce: 'gtc' })).rejects.toMatchObject({
      code: 'invalid_order',
    });
    const e = await ex
      .createOrder({ ...baseLow, market: 'PNNY', clientOrderId: 'cs-frac-pnny', amount: 1.5, price: 0.5 })
      .catch((x: unknown) => x);
    // ccxt truncates to the whole-share precision: 1 share is sent, no fractional refusal is even possible.
    expect(e).not.toBeInstanceOf(Error);
    expect(lastPost().body).toMatchObject({ qty: '1' });
    // An asset that stopped being fractionable after markets loaded: Alpaca's 403, a definitive refusal.
    emu.setAsset('AAPL', { fractionable: false });
    await expect(buy('cs-frac-no', { amount: 0.5 })).rejects.toMatchObject({ code: 'not_fractionable' });
    expect(emu.posted('cs-frac-no')).toHaveLength(1);
  });
});

describe('extended hours', () => {
  it('accepts limit DAY/GTC with extended_hours and fills it pre-market; refuses market and brackets', async () => {
    emu.setClock('2026-11-23T07:00');
    await buy('cs-eh-day', { extendedHours: true });
    expect(lastPost().body).toMatchObject({ extended_hours: true, time_in_force: 'day', type: 'limit' });
    await buy('cs-eh-gtc', { extendedHours: true, timeInForce: 'gtc', price: 150 });
    await buy('cs-regular', { price: 199.9 });
    emu.setQuote('AAPL', { bid: 199, ask: 199.4 });
    expect((await ex.fetchOrder('cs-eh-day'))?.status).toBe('closed');
    // Not extended: queued for the regular session.
    expect(await ex.fetchOrder('cs-regular')).toMatchObject({ status: 'open', venueStatus: 'accepted' });
    expect(() => emu.fill('cs-regular')).toThrow(/cannot trade now/);

    await expect(
      buy('cs-eh-mkt', { type: 'market', price: undefined, extendedHours: true }),
    ).rejects.toMatchObject({
      code: 'invalid_order',
      message: expect.stringMatching(/DAY or GTC limit/),
    });
    await expect(
      buy('cs-eh-br', { extendedHours: true, bracket: { takeProfit: 230, stopLoss: 180 } }),
    ).rejects.toBeInstanceOf(ExchangeRejected);
  });

  it('expires DAY orders at their close: 16:00 regular, 20:00 with extended_hours', async () => {
    await buy('cs-day');
    await buy('cs-day-eh', { extendedHours: true });
    await buy('cs-gtc', { timeInForce: 'gtc' });
    emu.setClock('2026-11-23T16:01');
    expect(await ex.fetchOrder('cs-day')).toMatchObject({ status: 'canceled', venueStatus: 'expired' });
    expect((await ex.fetchOrder('cs-day-eh'))?.venueStatus).toBe('new');
    emu.setClock('2026-11-23T20:00');
    expect((await ex.fetchOrder('cs-day-eh'))?.venueStatus).toBe('expired');
    expect((await ex.fetchOrder('cs-gtc'))?.status).toBe('open');
  });
});

describe('brackets', () => {
  it('sends nested leg prices, tracks Alpaca-made legs by our client id, and runs them OCO', async () => {
    const o = await buy('cs-br', { price: 200, bracket: { takeProfit: 220.004, stopLoss: 190.009 } });
    expect(lastPost().body).toMatchObject({
      order_class: 'bracket',
      take_profit: { limit_price: '220.01' },
      stop_loss: { stop_price: '190.00' },
    });
    expect(o.legs.map((l) => [l.kind, l.venueStatus])).toEqual([
      ['take_profit', 'held'],
      ['stop_loss', 'held'],
    ]);
    expect(o.legs.every((l) => l.clientOrderId !== 'cs-br' && l.exchangeOrderId)).toBe(true);

    emu.fill('cs-br');
    const filled = (await ex.fetchOrder('cs-br'))!;
    expect(filled.status).toBe('closed');
    expect(filled.legs.map((l) => l.venueStatus)).toEqual(['new', 'held']);
    emu.setQuote('AAPL', { bid: 220.05, ask: 220.1 });
    const done = (await ex.fetchOrder('cs-br'))!;
    expect(done.legs.map((l) => l.venueStatus)).toEqual(['filled', 'canceled']);
    expect(await ex.position('AAPL')).toBeUndefined();
  });

  it('refuses leg prices too close to the entry, and brackets that would close a holding', async () => {
    await expect(
      buy('cs-br-close', { price: 200, bracket: { takeProfit: 200, stopLoss: 190 } }),
    ).rejects.toMatchObject({ code: 'invalid_order', message: expect.stringMatching(/base_price \+ 0.01/) });
    emu.setPosition('AAPL', 3, 180);
    const e = await ex
      .createOrder({
        clientOrderId: 'cs-br-exit',
        market: 'AAPL',
        side: 'sell',
        type: 'limit',
        amount: 3,
        price: 200,
        refPrice: 200,
        bracket: { takeProfit: 190, stopLoss: 210 },
      })
      .catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'invalid_order',
      message: expect.stringMatching(/must be entry orders/),
    });
  });

  it("exit cancels this client's open legs first, then sells what the legs held", async () => {
    await buy('cs-entry', { price: 200, bracket: { takeProfit: 230, stopLoss: 180 } });
    emu.fill('cs-entry');
    // Shares are held by the legs: a plain sell is refused (403 insufficient qty), once.
    const blocked = await ex
      .createOrder({
        clientOrderId: 'cs-naive',
        market: 'AAPL',
        side: 'sell',
        type: 'market',
        amount: 2,
        refPrice: 200,
      })
      .catch((x: unknown) => x);
    expect(blocked).toMatchObject({ name: 'ExchangeRejected', code: 'insufficient_qty' });
    expect(emu.posted('cs-naive')).toHaveLength(1);

    const out = await ex.exitPosition({ market: 'AAPL/USD', clientOrderId: 'cs-exit' });
    expect(out).toMatchObject({ clientOrderId: 'cs-exit', side: 'sell', amount: 2, status: 'open' });
    expect(lastPost().body).toMatchObject({ side: 'sell', type: 'market', qty: '2', time_in_force: 'day' });
    const legs = (await ex.fetchOrder('cs-entry'))!.legs;
    expect(legs.map((l) => l.venueStatus)).toEqual(['canceled', 'canceled']);
    const deletes = emu.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.length).toBeGreaterThan(0);
    expect(emu.requests.indexOf(deletes.at(-1)!)).toBeLessThan(emu.requests.indexOf(lastPost()));
  });
});

describe('refusals and uncertainty', () => {
  it('a 403 refusal is ExchangeRejected although ccxt calls it ExchangeNotAvailable, and is sent once', async () => {
    const e = await buy('cs-big', { amount: 100, price: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExchangeRejected);
    expect(e).toMatchObject({ code: 'insufficient_funds' });
    // The trap the adapter exists for: ccxt's class for this definitive refusal is a NetworkError.
    expect((e as Error).cause).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    expect((e as Error).cause).toBeInstanceOf(ccxt.NetworkError);
    expect(emu.posted('cs-big')).toHaveLength(1);
    expect(emu.ledger()).toHaveLength(0);
  });

  it('open buys reduce buying power', async () => {
    await buy('cs-bp-1', { amount: 40, price: 200 }); // 8,000 of 10,000
    expect((await ex.account()).buyingPower).toBe(2000);
    await expect(buy('cs-bp-2', { amount: 20, price: 200 })).rejects.toMatchObject({
      code: 'insufficient_funds',
    });
    expect((await ex.balances()).free['USD']).toBe(2000);
  });

  it('a reused client_order_id (422) is reconciled, never resent: the original is found by that id', async () => {
    const first = await buy('cs-dup');
    await ex.cancelOrder(first.exchangeOrderId);
    const e = await buy('cs-dup').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExchangeUncertain);
    expect((e as Error).cause).toBeInstanceOf(ccxt.BadRequest);
    expect(emu.ledger().filter((o) => o.client_order_id === 'cs-dup')).toHaveLength(1);
    expect(await ex.fetchOrder('cs-dup')).toMatchObject({
      exchangeOrderId: first.exchangeOrderId,
      status: 'canceled',
    });
  });

  it('a reply dropped after execution is uncertain, and the order is found by our id', async () => {
    emu.fault({ match: 'POST /v2/orders', kind: 'drop', when: 'after' });
    await expect(buy('cs-drop')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect(emu.ledger().map((o) => o.client_order_id)).toEqual(['cs-drop']);
    expect(await ex.fetchOrder('cs-drop')).toMatchObject({ status: 'open', amount: 2 });
  });

  it('a 503 before execution and a late reply are uncertain too; only lookups tell them apart', async () => {
    emu.fault({ match: 'POST /v2/orders', kind: 'status', status: 503, when: 'before' });
    await expect(buy('cs-503')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect(await ex.fetchOrder('cs-503')).toBeUndefined();
    emu.fault({ match: 'POST /v2/orders', kind: 'delay', ms: 3000 });
    await expect(buy('cs-slow')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect((await ex.fetchOrder('cs-slow'))?.status).toBe('open');
  });

  it('lookup: not found is undefined; could not ask throws ExchangeUncertain', async () => {
    expect(await ex.fetchOrder('cs-never-sent')).toBeUndefined();
    emu.fault({ match: 'GET /v2/orders:by_client_order_id', kind: 'status', status: 500, when: 'before' });
    await expect(ex.fetchOrder('cs-never-sent')).rejects.toBeInstanceOf(ExchangeUncertain);
    emu.fault({ match: 'GET /v2/orders:by_client_order_id', kind: 'drop', when: 'before' });
    await expect(ex.fetchOrder('cs-never-sent')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect(await ex.asset('NOPE')).toBeUndefined();
    expect(await ex.position('AAPL')).toBeUndefined();
  });

  it('wrong keys are an auth rejection, not a retry', async () => {
    const bad = await adapter(emu, 'wrong-secret');
    await expect(bad.account()).rejects.toMatchObject({ name: 'ExchangeRejected', code: 'auth' });
    await bad.close();
  });
});

describe('account, clock, calendar, data', () => {
  it('reads the account without the retired PDT fields; a blocked account is refused definitively', async () => {
    const a = await ex.account();
    expect(a).toMatchObject({
      status: 'ACTIVE',
      canTrade: true,
      buyingPower: 10000,
      cash: 10000,
      multiplier: 1,
    });
    expect(a.patternDayTrader).toBeUndefined();
    expect(a.daytradeCount).toBeUndefined();
    emu.setAccount({ trading_blocked: true });
    expect((await ex.account()).canTrade).toBe(false);
    await expect(buy('cs-blocked')).rejects.toMatchObject({ code: 'account_blocked' });
    expect(emu.posted('cs-blocked')).toHaveLength(1);
  });

  it('clock and calendar know Thanksgiving and the early close after it', async () => {
    expect(await ex.clock()).toMatchObject({ isOpen: true, now: nyToMs('2026-11-23T10:00') });
    emu.setClock('2026-11-25T16:30');
    const c = await ex.clock();
    expect(c.isOpen).toBe(false);
    expect(c.nextOpen).toBe(nyToMs('2026-11-27T09:30'));
    expect(c.nextClose).toBe(nyToMs('2026-11-27T13:00'));
    const days = await ex.calendar('2026-11-23', '2026-11-30');
    expect(days.map((d) => d.date)).toEqual([
      '2026-11-23',
      '2026-11-24',
      '2026-11-25',
      '2026-11-27',
      '2026-11-30',
    ]);
    expect(days[3]).toMatchObject({
      open: '09:30',
      close: '13:00',
      sessionOpen: '04:00',
      sessionClose: '17:00',
    });
  });

  it('asset flags, latest quote and a ticker from the snapshot', async () => {
    expect(await ex.asset('PNNY')).toMatchObject({
      tradable: true,
      fractionable: false,
      shortable: false,
      easyToBorrow: false,
      exchange: 'NASDAQ',
      status: 'active',
    });
    expect((await ex.asset('AAPL'))?.fractionalExtendedHours).toBe(true);
    emu.setQuote('AAPL', { bid: 201, ask: 201.1, last: 201.05 });
    expect(await ex.latestQuote('AAPL/USD')).toMatchObject({ bid: 201, ask: 201.1 });
    expect(await ex.ticker('AAPL/USD')).toBe(201.05);
    expect(await ex.latestQuote('NOPE')).toBeUndefined();
  });

  it('a halted asset accepts orders but does not fill them', async () => {
    emu.haltAsset('AAPL');
    await buy('cs-halt', { type: 'market', price: undefined });
    emu.setQuote('AAPL', { bid: 199, ask: 199.1 });
    expect((await ex.fetchOrder('cs-halt'))?.status).toBe('open');
    emu.haltAsset('AAPL', false);
    emu.setQuote('AAPL', { bid: 199, ask: 199.1 });
    expect((await ex.fetchOrder('cs-halt'))?.status).toBe('closed');
  });
});

describe('ccxt.alpaca facts the adapter relies on (a ccxt upgrade that changes one fails here)', () => {
  const raw = () => ex.ex;

  it('createOrder defaults time_in_force to gtc and invents a ccxt_ client id when none is given', async () => {
    await raw().createOrder('AAPL/USD', 'limit', 'buy', 1, 150);
    expect(lastPost().body).toMatchObject({ time_in_force: 'gtc', limit_price: '150', qty: '1' });
    expect(String(lastPost().body?.['client_order_id'])).toMatch(/^ccxt_/);
  });

  it('fetchOrder by clientOrderId asks for /v2/orders/undefined; 404 40410000 is InvalidOrder', async () => {
    const e = await raw()
      .fetchOrder(undefined as unknown as string, 'AAPL/USD', { clientOrderId: 'x' })
      .catch((x: unknown) => x);
    expect(emu.requests.at(-1)?.path).toBe('/v2/orders/undefined');
    expect(e).toBeInstanceOf(ccxt.InvalidOrder);
    expect(e).not.toBeInstanceOf(ccxt.OrderNotFound);
  });

  it('a 404 without an Alpaca code is ExchangeNotAvailable (a NetworkError), not "not found"', async () => {
    const e = await raw()
      .request('v2/no-such-route', ['trader', 'private'], 'GET', {})
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ccxt.ExchangeNotAvailable);
  });

  it('401 40110000 and 403 "forbidden." are PermissionDenied', async () => {
    const wrongSecret = await adapter(emu, 'nope');
    await expect(wrongSecret.ex.fetchTime()).rejects.toBeInstanceOf(ccxt.PermissionDenied);
    await wrongSecret.close();
    const wrongKey = await AlpacaAdapter.create({
      config: testConfig({ mode: 'live', exchange: { id: 'alpaca', base_url: emu.url } }),
      secrets: {
        serverKey: undefined,
        exchangeApiKey: 'PKWRONG',
        exchangeSecret: emu.secret,
        exchangePassword: undefined,
      },
    });
    await expect(wrongKey.ex.fetchTime()).rejects.toBeInstanceOf(ccxt.PermissionDenied);
    expect(emu.requests.at(-1)?.status).toBe(401);
    await wrongKey.close();
  });

  it('fetchTime parses the New York offset; cancelOrder returns no id or status', async () => {
    expect(await raw().fetchTime()).toBe(nyToMs('2026-11-23T10:00'));
    const o = await buy('cs-cancel');
    const c = await raw().cancelOrder(o.exchangeOrderId);
    expect(c.id).toBeUndefined();
    expect(c.status).toBeUndefined();
    expect((await ex.fetchOrder('cs-cancel'))?.status).toBe('canceled');
  });

  it('the base URL override survives sandbox mode (paper-api)', async () => {
    const config = testConfig({ mode: 'live', exchange: { id: 'alpaca', base_url: emu.url, sandbox: true } });
    const paper = await AlpacaAdapter.create({
      config,
      secrets: {
        serverKey: undefined,
        exchangeApiKey: emu.keyId,
        exchangeSecret: emu.secret,
        exchangePassword: undefined,
      },
      rateLimitMs: 1,
    });
    const before = emu.requests.length;
    expect((await paper.account()).status).toBe('ACTIVE');
    expect(await paper.latestQuote('AAPL')).toBeDefined();
    expect(emu.requests.length).toBe(before + 2);
    await paper.close();
  });
});
