import * as ccxt from 'ccxt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { Journal } from '../src/journal/index.js';
import { formatPrice } from '../src/exchange/alpaca-parse.js';
import { ExchangeRejected } from '../src/exchange/types.js';
import { useAlpaca } from './helpers/alpaca-adapter.js';
import { testConfig } from './helpers/config.js';
import { baseSignal } from './helpers/signals.js';
import { alpacaDriver } from '../src/venue/index.js';
import { testLog } from './helpers/logger.js';

// The REAL ccxt.alpaca class against the project's Alpaca emulator on 127.0.0.1: URL override, market parsing,
// request bodies and ccxt's own error mapping all run for real. Orders: kinds, ticks, sessions, brackets, exits.

const t = useAlpaca();

describe('markets', () => {
  it('loads us_equity assets with precision added inside fetchMarkets', () => {
    const assetReqs = t.emu.requests.filter((r) => r.path === '/v2/assets');
    expect(assetReqs).toHaveLength(1);
    expect(assetReqs[0]!.query).toMatchObject({ asset_class: 'us_equity', status: 'active' });
    expect(t.ex.market('AAPL/USD')).toMatchObject({
      base: 'AAPL',
      quote: 'USD',
      amountStep: 1e-9,
      priceStep: 1e-4,
    });
    expect(t.ex.market('PNNY')).toMatchObject({ amountStep: 1, minAmount: 1 });
    // markets_by_id is built from the same wrapped fetchMarkets, so it is not stale.
    const byId = (
      t.ex.ex as unknown as { markets_by_id: Record<string, { precision: { amount: number } }[]> }
    ).markets_by_id;
    expect(byId['PNNY']![0]!.precision.amount).toBe(1);
  });

  it('rounds prices to Alpaca ticks: cents at or above $1, four decimals below', async () => {
    expect(formatPrice(11.055)).toBe('11.06');
    expect(formatPrice(11.05, 'down')).toBe('11.05');
    expect(formatPrice(11.051, 'up')).toBe('11.06');
    expect(formatPrice(0.51236)).toBe('0.5124');
    expect(formatPrice(0.99996)).toBe('1.00');
    await t.ex.createOrder({
      clientOrderId: 'cs-tick-1',
      market: 'PNNY/USD',
      side: 'buy',
      type: 'limit',
      amount: 100,
      price: 0.512367,
      refPrice: 0.51,
    });
    expect(t.lastPost().body).toMatchObject({ limit_price: '0.5124', qty: '100' });
    await t.ex.createOrder({ ...baseLow, clientOrderId: 'cs-tick-2', price: 3.20499 });
    expect(t.lastPost().body).toMatchObject({ limit_price: '3.2' });
    // The emulator enforces the rule itself (what Alpaca answers a sub-penny price with).
    const raw = (t.ex.ex as unknown as Record<string, (p: object) => Promise<unknown>>)[
      'traderPrivatePostV2Orders'
    ]!;
    const e = await raw
      .call(t.ex.ex, { ...t.lastPost().body, client_order_id: 'cs-tick-raw', limit_price: '3.205' })
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
    const m = await t.buy('cs-mkt', { type: 'market', price: undefined });
    expect(t.lastPost().body).toEqual({
      symbol: 'AAPL',
      side: 'buy',
      type: 'market',
      qty: '2',
      time_in_force: 'day',
      client_order_id: 'cs-mkt',
    });
    expect(m).toMatchObject({ status: 'open', venueStatus: 'accepted', filled: 0, clientOrderId: 'cs-mkt' });
    const l = await t.buy('cs-lmt');
    expect(t.lastPost().body).toMatchObject({ type: 'limit', limit_price: '199.5', time_in_force: 'day' });
    expect(l.status).toBe('open');
    t.emu.fill('cs-mkt', { price: 200.1 });
    expect(await t.ex.fetchOrder('cs-mkt', 'AAPL/USD')).toMatchObject({
      status: 'closed',
      filled: 2,
      average: 200.1,
    });
    // A quote that crosses the limit fills it (price feed control).
    t.emu.setQuote('AAPL', { bid: 199.3, ask: 199.4 });
    expect(await t.ex.fetchOrder('cs-lmt', 'AAPL/USD')).toMatchObject({ status: 'closed', average: 199.4 });
    expect((await t.ex.position('AAPL'))?.qty).toBe(4);
  });

  it('places a stop-limit exit for a stop_loss trigger and a resting limit for a take_profit', async () => {
    t.emu.setPosition('AAPL', 5, 200);
    await t.ex.createOrder({
      clientOrderId: 'cs-sl',
      market: 'AAPL/USD',
      side: 'sell',
      type: 'limit',
      amount: 2,
      price: 189.5,
      refPrice: 200,
      trigger: { kind: 'stop_loss', price: 190 },
    });
    expect(t.lastPost().body).toMatchObject({ type: 'stop_limit', stop_price: '190', limit_price: '189.5' });
    await t.ex.createOrder({
      clientOrderId: 'cs-tp',
      market: 'AAPL/USD',
      side: 'sell',
      type: 'limit',
      amount: 2,
      price: 219,
      refPrice: 200,
      trigger: { kind: 'take_profit', price: 220 },
    });
    expect(t.lastPost().body).toMatchObject({ type: 'limit', limit_price: '220', time_in_force: 'day' });
  });

  it('fractional orders: DAY simple orders of fractionable assets only', async () => {
    await t.buy('cs-frac', { type: 'market', price: undefined, amount: 0.5 });
    expect(t.lastPost().body).toMatchObject({ qty: '0.5', time_in_force: 'day' });
    await expect(t.buy('cs-frac-gtc', { amount: 0.5, timeInForce: 'gtc' })).rejects.toMatchObject({
      code: 'invalid_order',
    });
    const e = await t.ex
      .createOrder({ ...baseLow, market: 'PNNY', clientOrderId: 'cs-frac-pnny', amount: 1.5, price: 0.5 })
      .catch((x: unknown) => x);
    // ccxt truncates to the whole-share precision: 1 share is sent, no fractional refusal is even possible.
    expect(e).not.toBeInstanceOf(Error);
    expect(t.lastPost().body).toMatchObject({ qty: '1' });
    // An asset that stopped being fractionable after markets loaded: Alpaca's 403, a definitive refusal.
    t.emu.setAsset('AAPL', { fractionable: false });
    await expect(t.buy('cs-frac-no', { amount: 0.5 })).rejects.toMatchObject({ code: 'not_fractionable' });
    expect(t.emu.posted('cs-frac-no')).toHaveLength(1);
  });
});

describe('extended hours', () => {
  it('accepts limit DAY/GTC with extended_hours and fills it pre-market; refuses market and brackets', async () => {
    t.emu.setClock('2026-11-23T07:00');
    await t.buy('cs-eh-day', { extendedHours: true });
    expect(t.lastPost().body).toMatchObject({ extended_hours: true, time_in_force: 'day', type: 'limit' });
    await t.buy('cs-eh-gtc', { extendedHours: true, timeInForce: 'gtc', price: 150 });
    await t.buy('cs-regular', { price: 199.9 });
    t.emu.setQuote('AAPL', { bid: 199, ask: 199.4 });
    expect((await t.ex.fetchOrder('cs-eh-day'))?.status).toBe('closed');
    // Not extended: queued for the regular session.
    expect(await t.ex.fetchOrder('cs-regular')).toMatchObject({ status: 'open', venueStatus: 'accepted' });
    expect(() => t.emu.fill('cs-regular')).toThrow(/cannot trade now/);

    await expect(
      t.buy('cs-eh-mkt', { type: 'market', price: undefined, extendedHours: true }),
    ).rejects.toMatchObject({
      code: 'invalid_order',
      message: expect.stringMatching(/DAY or GTC limit/),
    });
    await expect(
      t.buy('cs-eh-br', { extendedHours: true, bracket: { takeProfit: 230, stopLoss: 180 } }),
    ).rejects.toBeInstanceOf(ExchangeRejected);
  });

  it('expires DAY orders at their close: 16:00 regular, 20:00 with extended_hours', async () => {
    await t.buy('cs-day');
    await t.buy('cs-day-eh', { extendedHours: true });
    await t.buy('cs-gtc', { timeInForce: 'gtc' });
    t.emu.setClock('2026-11-23T16:01');
    expect(await t.ex.fetchOrder('cs-day')).toMatchObject({ status: 'canceled', venueStatus: 'expired' });
    expect((await t.ex.fetchOrder('cs-day-eh'))?.venueStatus).toBe('new');
    t.emu.setClock('2026-11-23T20:00');
    expect((await t.ex.fetchOrder('cs-day-eh'))?.venueStatus).toBe('expired');
    expect((await t.ex.fetchOrder('cs-gtc'))?.status).toBe('open');
  });
});

describe('brackets', () => {
  it('sends nested leg prices, tracks Alpaca-made legs by our client id, and runs them OCO', async () => {
    const o = await t.buy('cs-br', { price: 200, bracket: { takeProfit: 220.004, stopLoss: 190.009 } });
    expect(t.lastPost().body).toMatchObject({
      order_class: 'bracket',
      take_profit: { limit_price: '220.01' },
      stop_loss: { stop_price: '190.00' },
    });
    expect(o.legs.map((l) => [l.kind, l.venueStatus])).toEqual([
      ['take_profit', 'held'],
      ['stop_loss', 'held'],
    ]);
    expect(o.legs.every((l) => l.clientOrderId !== 'cs-br' && l.exchangeOrderId)).toBe(true);

    t.emu.fill('cs-br');
    const filled = (await t.ex.fetchOrder('cs-br'))!;
    expect(filled.status).toBe('closed');
    expect(filled.legs.map((l) => l.venueStatus)).toEqual(['new', 'held']);
    t.emu.setQuote('AAPL', { bid: 220.05, ask: 220.1 });
    const done = (await t.ex.fetchOrder('cs-br'))!;
    expect(done.legs.map((l) => l.venueStatus)).toEqual(['filled', 'canceled']);
    expect(await t.ex.position('AAPL')).toBeUndefined();
  });

  it('refuses leg prices too close to the entry, and brackets that would close a holding', async () => {
    await expect(
      t.buy('cs-br-close', { price: 200, bracket: { takeProfit: 200, stopLoss: 190 } }),
    ).rejects.toMatchObject({ code: 'invalid_order', message: expect.stringMatching(/base_price \+ 0.01/) });
    t.emu.setPosition('AAPL', 3, 180);
    const e = await t.ex
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
    await t.buy('cs-entry', { price: 200, bracket: { takeProfit: 230, stopLoss: 180 } });
    t.emu.fill('cs-entry');
    // Shares are held by the legs: a plain sell is refused (403 insufficient qty), once.
    const blocked = await t.ex
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
    expect(t.emu.posted('cs-naive')).toHaveLength(1);

    const out = await t.ex.exitPosition({ market: 'AAPL/USD', clientOrderId: 'cs-exit' });
    expect(out).toMatchObject({ clientOrderId: 'cs-exit', side: 'sell', amount: 2, status: 'open' });
    expect(t.lastPost().body).toMatchObject({ side: 'sell', type: 'market', qty: '2', time_in_force: 'day' });
    // A retry (say after a lost reply) finds the exit instead of cancelling it or sending another.
    expect(await t.ex.exitPosition({ market: 'AAPL', clientOrderId: 'cs-exit' })).toMatchObject({
      exchangeOrderId: out!.exchangeOrderId,
    });
    expect(t.emu.posted('cs-exit')).toHaveLength(1);
    const legs = (await t.ex.fetchOrder('cs-entry'))!.legs;
    expect(legs.map((l) => l.venueStatus)).toEqual(['canceled', 'canceled']);
    const deletes = t.emu.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.length).toBeGreaterThan(0);
    expect(t.emu.requests.indexOf(deletes.at(-1)!)).toBeLessThan(t.emu.requests.indexOf(t.lastPost()));
  });
});

describe('path parameters', () => {
  it('"." and ".." never reach a broker URL; any other value is one percent-encoded path segment', async () => {
    const n = t.emu.requests.length;
    for (const s of ['.', '..', '../USD']) {
      await expect(t.ex.asset(s), s).rejects.toBeInstanceOf(ExchangeRejected);
      await expect(t.ex.position(s), s).rejects.toBeInstanceOf(ExchangeRejected);
      await expect(t.ex.latestQuote(s), s).rejects.toBeInstanceOf(ExchangeRejected);
      expect(await t.ex.ticker(s), s).toBeUndefined();
    }
    expect(t.emu.requests.slice(n)).toEqual([]);
    // Without encoding, "?" would end the path and turn the rest into a query.
    expect(await t.ex.asset('A?B')).toBeUndefined();
    expect(t.emu.requests.at(-1)).toMatchObject({ path: '/v2/assets/A?B' });
  });
});

describe('the venue gate before any broker request', () => {
  it('a crypto signal and a pair not quoted in USD are refused without asking Alpaca anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-alpaca-gate-'));
    const journal = Journal.open(join(dir, 'j.sqlite'));
    try {
      const config = testConfig({ exchange: { venue: 'us_equity' } } as never);
      const n = t.emu.requests.length;
      const at = Date.now();
      const s = (over: Partial<Signal>) => baseSignal(1, { symbol: 'AAPL', ...over }, at) as Signal;
      const venue = alpacaDriver({ config, journal, log: testLog }, t.ex);
      expect(await venue.decide(s({ symbol: 'ETH/BTC' }), at)).toMatchObject({
        reason: 'skipped:foreign_quote',
      });
      expect(await venue.decide(s({ symbol: 'BTC', asset_class: 'crypto' }), at)).toMatchObject({
        reason: 'skipped:asset_class',
      });
      expect(t.emu.requests.slice(n)).toEqual([]);
    } finally {
      journal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
