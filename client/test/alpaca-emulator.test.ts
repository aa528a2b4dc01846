import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlpacaAdapter } from '../src/exchange/alpaca.js';
import { alpacaAdapter } from './helpers/alpaca-adapter.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';

// The emulator's own behaviour, through the real ccxt.alpaca (implicit endpoints): list filters, partial fills,
// stops that trigger only in regular hours, position close, cancel-all, multi-symbol snapshots.

let emu: AlpacaEmulator;
let ex: AlpacaAdapter;
type Json = Record<string, unknown>;
const api = (name: string, params: Json = {}) =>
  (ex.ex as unknown as Record<string, (p: Json) => Promise<unknown>>)[name]!.call(ex.ex, params);

beforeEach(async () => {
  emu = await startAlpacaEmulator();
  ex = await alpacaAdapter(emu);
  await ex.loadMarkets();
});
afterEach(async () => {
  await ex?.close();
  await emu?.close();
});

const order = (cid: string, over: Json = {}) =>
  api('traderPrivatePostV2Orders', {
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    qty: '1',
    limit_price: '190',
    time_in_force: 'gtc',
    client_order_id: cid,
    ...over,
  }) as Promise<Json>;

describe('alpaca emulator', () => {
  it('lists orders by status, symbol and limit, newest first, legs flat unless nested', async () => {
    await order('a');
    await order('b', { symbol: 'LOWP', limit_price: '3' });
    await order('c', {
      order_class: 'bracket',
      take_profit: { limit_price: '200' },
      stop_loss: { stop_price: '180' },
    });
    const open = (await api('traderPrivateGetV2Orders', { status: 'open' })) as Json[];
    expect(open).toHaveLength(5); // a, b, c and c's two legs
    const nested = (await api('traderPrivateGetV2Orders', { status: 'open', nested: true })) as Json[];
    expect(nested.map((o) => o['client_order_id'])).toEqual(['c', 'b', 'a']);
    expect((nested[0]!['legs'] as Json[]).length).toBe(2);
    const lowp = (await api('traderPrivateGetV2Orders', { symbols: 'LOWP' })) as Json[];
    expect(lowp.map((o) => o['client_order_id'])).toEqual(['b']);
    expect((await api('traderPrivateGetV2Orders', { limit: 1, nested: true })) as Json[]).toHaveLength(1);
    const res = (await api('traderPrivateDeleteV2Orders')) as Json[];
    expect(res.every((r) => r['status'] === 200)).toBe(true);
    expect(
      (await api('traderPrivateGetV2Orders', { status: 'closed', nested: true })) as Json[],
    ).toHaveLength(3);
  });

  it('partial fills, then the rest; the position and cash follow', async () => {
    await order('p', { qty: '10', limit_price: '200' });
    emu.fill('p', { qty: 4, price: 199 });
    expect(emu.order('p')).toMatchObject({ status: 'partially_filled', filled_qty: 4 });
    emu.fill('p', { price: 200 });
    expect(emu.order('p')).toMatchObject({ status: 'filled', filled_qty: 10 });
    expect(emu.order('p')!.filled_avg_price).toBeCloseTo(199.6, 9);
    const pos = (await api('traderPrivateGetV2PositionsSymbolOrAssetId', {
      symbol_or_asset_id: 'AAPL',
    })) as Json;
    expect(pos).toMatchObject({ qty: '10', qty_available: '10', side: 'long' });
    expect((await ex.account()).cash).toBeCloseTo(10_000 - 1996, 6);
  });

  it('a bracket stop triggers on a falling quote in regular hours only, and cancels the take-profit', async () => {
    await order('s', {
      order_class: 'bracket',
      limit_price: '200',
      take_profit: { limit_price: '220' },
      stop_loss: { stop_price: '190' },
    });
    emu.fill('s');
    emu.setClock('2026-11-23T17:00'); // after hours: GTC legs live on, but stops do not trigger
    emu.setQuote('AAPL', { bid: 185, ask: 185.2, last: 185.1 });
    expect(emu.order('s')!.legs.map((l) => l.status)).toEqual(['new', 'held']);
    emu.setClock('2026-11-24T09:30');
    emu.setQuote('AAPL', { bid: 185, ask: 185.2, last: 185.1 });
    expect(emu.order('s')!.legs.map((l) => l.status)).toEqual(['canceled', 'filled']);
    expect(emu.book.positions.get('AAPL')).toBeUndefined();
  });

  it('DELETE /v2/positions/{symbol} sells through a market order; held shares refuse it', async () => {
    emu.setPosition('LOWP', 100, 3);
    const o = (await api('traderPrivateDeleteV2PositionsSymbolOrAssetId', {
      symbol_or_asset_id: 'LOWP',
      percentage: 50,
    })) as Json;
    expect(o).toMatchObject({ side: 'sell', type: 'market', qty: '50', time_in_force: 'day' });
    await expect(
      api('traderPrivateDeleteV2PositionsSymbolOrAssetId', { symbol_or_asset_id: 'LOWP', qty: 60 }),
    ).rejects.toThrow(/insufficient qty available/);
  });

  it('multi-symbol snapshots are a map by symbol; unknown symbols are left out', async () => {
    emu.setQuote('LOWP', { bid: 3.1, ask: 3.12 });
    const snaps = (await api('marketPrivateGetV2StocksSnapshots', { symbols: 'AAPL,LOWP,NOPE' })) as Json;
    expect(Object.keys(snaps).sort()).toEqual(['AAPL', 'LOWP']);
    expect((snaps['LOWP'] as Json)['latestQuote']).toMatchObject({ bp: 3.1, ap: 3.12 });
  });

  it('a client_order_id stays taken forever, and longer than 128 characters is refused', async () => {
    await order('forever');
    await api('traderPrivateDeleteV2OrdersOrderId', { order_id: emu.order('forever')!.id });
    await expect(order('forever')).rejects.toThrow(/client_order_id must be unique/);
    await expect(order('x'.repeat(129))).rejects.toThrow(/128 characters/);
    expect(emu.ledger()).toHaveLength(1);
  });
});
