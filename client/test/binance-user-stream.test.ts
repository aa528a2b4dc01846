import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';

// The Binance emulator's spot user-data stream (helpers/binance-user-stream.ts), as Binance speaks it: the
// listenKey flow, and the WebSocket API subscription the REAL ccxt.pro binance class uses for spot, reached through
// exchange.base_url (which moves urls.api.ws too). One executionReport per execution, with its own trade id.

let emu: BinanceEmulator;
let ex: CcxtAdapter | undefined;
beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
});
afterEach(async () => {
  await ex?.close();
  ex = undefined;
  await emu.close();
});

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function adapter() {
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000 },
  });
  ex = await CcxtAdapter.create({
    config,
    secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
  });
  await ex.loadMarkets();
  return ex;
}

const buy = (a: CcxtAdapter, clientOrderId: string) =>
  a.createOrder({
    clientOrderId,
    market: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: 0.0004,
    refPrice: 60000,
  });

describe('the Binance emulator: spot user-data stream', () => {
  it('listenKey flow: POST userDataStream, PUT keepalive, /ws/<listenKey> gets executionReport per execution', async () => {
    const h = { 'X-MBX-APIKEY': 'k' };
    const res = await fetch(`${emu.url}/api/v3/userDataStream`, { method: 'POST', headers: h });
    const { listenKey } = (await res.json()) as { listenKey: string };
    expect(listenKey).toMatch(/^[A-Za-z0-9]{60}$/);
    expect((await fetch(`${emu.url}/api/v3/userDataStream`, { method: 'PUT', headers: h })).status).toBe(200);
    expect((await fetch(`${emu.url}/api/v3/userDataStream`, { method: 'POST' })).status).toBe(401);
    const ws = new WebSocket(`${emu.url.replace('http', 'ws')}/ws/${listenKey}`);
    const got: Record<string, unknown>[] = [];
    ws.on('message', (m) => got.push(JSON.parse(String(m)) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    await emu.userStream.waitForSubscribers(1);
    const a = await adapter();
    emu.splitNext(2);
    await buy(a, 'raw-1');
    await until('reports', () => got.filter((g) => g['e'] === 'executionReport').length === 3);
    ws.close();
    const reports = got.filter((g) => g['e'] === 'executionReport');
    expect(reports.map((r) => [r['x'], r['X'], r['l'], r['z']])).toEqual([
      ['NEW', 'NEW', '0.00000', '0.00000'],
      ['TRADE', 'PARTIALLY_FILLED', '0.00020', '0.00020'],
      ['TRADE', 'FILLED', '0.00020', '0.00040'],
    ]);
    expect(reports[1]).toMatchObject({ c: 'raw-1', s: 'BTCUSDT', S: 'BUY', L: '60000.00000000', N: 'BTC' });
    expect(reports[1]!['t']).not.toBe(reports[2]!['t']);
    expect(got.some((g) => g['e'] === 'outboundAccountPosition')).toBe(true);
  });

  it('ccxt.pro binance subscribes over the WebSocket API; watchMyTrades keeps every execution, with its fee', async () => {
    const a = await adapter();
    const pro = a.reads as unknown as {
      authenticate(): Promise<void>;
      watchMyTrades(): Promise<{ id: string; amount: number; fee: { cost: number; currency: string } }[]>;
    };
    await pro.authenticate();
    expect(emu.userStream.subscribers).toBe(1);
    const trades: { id: string; amount: number; fee: { cost: number; currency: string } }[] = [];
    const watching = (async () => {
      while (trades.length < 3) trades.push(...(await pro.watchMyTrades()));
    })();
    emu.splitNext(3);
    await buy(a, 'raw-2');
    await watching;
    const emuTrades = emu.ordersFor('raw-2')[0]!.trades;
    expect(trades.map((t) => t.id)).toEqual(emuTrades.map((t) => String(t.id)));
    expect(trades.map((t) => t.amount)).toEqual(emuTrades.map((t) => t.qty));
    // The report's commission is sent with 8 decimals, as Binance does.
    expect(trades.map((t) => t.fee)).toEqual(
      emuTrades.map((t) => ({ cost: Number(t.commission.toFixed(8)), currency: 'BTC' })),
    );
  });

  it('a bad signature is refused and nothing subscribes', async () => {
    const ws = new WebSocket(`${emu.url.replace('http', 'ws')}/ws-api/v3`);
    const got: Record<string, unknown>[] = [];
    ws.on('message', (m) => got.push(JSON.parse(String(m)) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        id: '1',
        method: 'userDataStream.subscribe.signature',
        params: { apiKey: 'k', timestamp: Date.now(), signature: 'ff' },
      }),
    );
    await until('answer', () => got.length === 1);
    ws.close();
    expect(got[0]).toMatchObject({ id: '1', status: 400, error: { code: -1022 } });
    expect(emu.userStream.subscribers).toBe(0);
  });
});
