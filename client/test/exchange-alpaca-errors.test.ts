import * as ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { ExchangeRejected, ExchangeUncertain } from '../src/exchange/types.js';
import { nyToMs } from './helpers/alpaca-emulator.js';
import { alpacaAdapter, useAlpaca } from './helpers/alpaca-adapter.js';

// Alpaca refusals vs uncertainty through the REAL ccxt.alpaca: a 403 is final (never resent) although ccxt calls
// it a NetworkError; lost replies are reconciled by our client id; plus the ccxt behaviour the adapter relies on.

const t = useAlpaca();

describe('refusals and uncertainty', () => {
  it('a 403 refusal is ExchangeRejected although ccxt calls it ExchangeNotAvailable, and is sent once', async () => {
    const e = await t.buy('cs-big', { amount: 100, price: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExchangeRejected);
    expect(e).toMatchObject({ code: 'insufficient_funds' });
    // The trap the adapter exists for: ccxt's class for this definitive refusal is a NetworkError.
    expect((e as Error).cause).toBeInstanceOf(ccxt.ExchangeNotAvailable);
    expect((e as Error).cause).toBeInstanceOf(ccxt.NetworkError);
    expect(t.emu.posted('cs-big')).toHaveLength(1);
    expect(t.emu.ledger()).toHaveLength(0);
  });

  it('open buys reduce buying power', async () => {
    await t.buy('cs-bp-1', { amount: 40, price: 200 }); // 8,000 of 10,000
    expect((await t.ex.account()).buyingPower).toBe(2000);
    await expect(t.buy('cs-bp-2', { amount: 20, price: 200 })).rejects.toMatchObject({
      code: 'insufficient_funds',
    });
    expect((await t.ex.balances()).free['USD']).toBe(2000);
  });

  it('a reused client_order_id (422) is reconciled, never resent: the original is found by that id', async () => {
    const first = await t.buy('cs-dup');
    await t.ex.cancelOrder(first.exchangeOrderId);
    const e = await t.buy('cs-dup').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExchangeUncertain);
    expect((e as Error).cause).toBeInstanceOf(ccxt.BadRequest);
    expect(t.emu.ledger().filter((o) => o.client_order_id === 'cs-dup')).toHaveLength(1);
    expect(await t.ex.fetchOrder('cs-dup')).toMatchObject({
      exchangeOrderId: first.exchangeOrderId,
      status: 'canceled',
    });
  });

  it('a reply dropped after execution is uncertain, and the order is found by our id', async () => {
    t.emu.fault({ match: 'POST /v2/orders', kind: 'drop', when: 'after' });
    await expect(t.buy('cs-drop')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect(t.emu.ledger().map((o) => o.client_order_id)).toEqual(['cs-drop']);
    expect(await t.ex.fetchOrder('cs-drop')).toMatchObject({ status: 'open', amount: 2 });
  });

  it('a 503 before execution and a late reply are uncertain too; only lookups tell them apart', async () => {
    t.emu.fault({ match: 'POST /v2/orders', kind: 'status', status: 503, when: 'before' });
    await expect(t.buy('cs-503')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect(await t.ex.fetchOrder('cs-503')).toBeUndefined();
    t.emu.fault({ match: 'POST /v2/orders', kind: 'delay', ms: 3000 });
    await expect(t.buy('cs-slow')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect((await t.ex.fetchOrder('cs-slow'))?.status).toBe('open');
  });

  it('lookup: not found is undefined; could not ask throws ExchangeUncertain', async () => {
    expect(await t.ex.fetchOrder('cs-never-sent')).toBeUndefined();
    t.emu.fault({ match: 'GET /v2/orders:by_client_order_id', kind: 'status', status: 500, when: 'before' });
    await expect(t.ex.fetchOrder('cs-never-sent')).rejects.toBeInstanceOf(ExchangeUncertain);
    t.emu.fault({ match: 'GET /v2/orders:by_client_order_id', kind: 'drop', when: 'before' });
    await expect(t.ex.fetchOrder('cs-never-sent')).rejects.toBeInstanceOf(ExchangeUncertain);
    expect(await t.ex.asset('NOPE')).toBeUndefined();
    expect(await t.ex.position('AAPL')).toBeUndefined();
  });

  it('wrong keys are an auth rejection, not a retry', async () => {
    const bad = await alpacaAdapter(t.emu, { secret: 'wrong-secret' });
    await expect(bad.account()).rejects.toMatchObject({ name: 'ExchangeRejected', code: 'auth' });
    await bad.close();
  });
});

describe('ccxt.alpaca facts the adapter relies on (a ccxt upgrade that changes one fails here)', () => {
  const raw = () => t.ex.ex;

  it('createOrder defaults time_in_force to gtc and invents a ccxt_ client id when none is given', async () => {
    await raw().createOrder('AAPL/USD', 'limit', 'buy', 1, 150);
    expect(t.lastPost().body).toMatchObject({ time_in_force: 'gtc', limit_price: '150', qty: '1' });
    expect(String(t.lastPost().body?.['client_order_id'])).toMatch(/^ccxt_/);
  });

  it('fetchOrder by clientOrderId asks for /v2/orders/undefined; 404 40410000 is InvalidOrder', async () => {
    const e = await raw()
      .fetchOrder(undefined as unknown as string, 'AAPL/USD', { clientOrderId: 'x' })
      .catch((x: unknown) => x);
    expect(t.emu.requests.at(-1)?.path).toBe('/v2/orders/undefined');
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
    const wrongSecret = await alpacaAdapter(t.emu, { secret: 'nope' });
    await expect(wrongSecret.ex.fetchTime()).rejects.toBeInstanceOf(ccxt.PermissionDenied);
    await wrongSecret.close();
    const wrongKey = await alpacaAdapter(t.emu, { keyId: 'PKWRONG' });
    await expect(wrongKey.ex.fetchTime()).rejects.toBeInstanceOf(ccxt.PermissionDenied);
    expect(t.emu.requests.at(-1)?.status).toBe(401);
    await wrongKey.close();
  });

  it('fetchTime parses the New York offset; cancelOrder returns no id or status', async () => {
    expect(await raw().fetchTime()).toBe(nyToMs('2026-11-23T10:00'));
    const o = await t.buy('cs-cancel');
    const c = await raw().cancelOrder(o.exchangeOrderId);
    expect(c.id).toBeUndefined();
    expect(c.status).toBeUndefined();
    expect((await t.ex.fetchOrder('cs-cancel'))?.status).toBe('canceled');
  });

  it('the base URL override survives sandbox mode (paper-api)', async () => {
    const paper = await alpacaAdapter(t.emu, { sandbox: true });
    const before = t.emu.requests.length;
    expect((await paper.account()).status).toBe('ACTIVE');
    expect(await paper.latestQuote('AAPL')).toBeDefined();
    expect(t.emu.requests.length).toBe(before + 2);
    await paper.close();
  });
});
