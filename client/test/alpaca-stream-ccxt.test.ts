import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCcxt } from '../src/exchange/ccxt.js';
import { parseFrame } from '../src/exchange/alpaca-stream.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './helpers/alpaca-emulator.js';
import WebSocket from 'ws';

// Why the client reads trade_updates itself (docs/broker-events.md): the real ccxt.pro alpaca watchMyTrades,
// pointed at the emulator's stream, reports the ORDER's cumulative filled_qty / filled_avg_price as each "trade"
// and has no trade id (it reads a field Alpaca does not send); the execution's own quantity and execution_id,
// which the client's parser keeps, are lost.

let emu: AlpacaEmulator;
beforeEach(async () => {
  emu = await startAlpacaEmulator();
});
afterEach(async () => {
  await emu.close();
});

type Json = Record<string, unknown>;

describe("ccxt.pro alpaca's trade stream loses executions", () => {
  it('two partial fills: ccxt gives cumulative amounts and no ids; the raw frames carry each execution', async () => {
    const ccxt = await loadCcxt();
    const pro = (ccxt as unknown as { pro: Record<string, new (o: object) => Json> }).pro;
    const ex = new pro['alpaca']!({ apiKey: emu.keyId, secret: emu.secret }) as Json & {
      urls: { api: Record<string, Record<string, string>> };
      watchMyTrades(): Promise<Json[]>;
      close(): Promise<void>;
    };
    for (const fam of ['trader', 'market']) ex.urls.api[fam] = emu.url as never;
    ex.urls.api['ws'] = { ...ex.urls.api['ws'], trading: `${emu.url.replace('http', 'ws')}/stream` };
    ex['markets'] = {};
    await (ex as unknown as { loadHttpProxyAgent(): Promise<void> }).loadHttpProxyAgent();
    // Our own view of the same stream, for comparison.
    const raw: Json[] = [];
    const ws = new WebSocket(`${emu.url.replace('http', 'ws')}/stream`);
    ws.on('message', (d) => {
      const f = parseFrame(String(d));
      if (f.kind === 'event') raw.push(f.event as unknown as Json);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ action: 'auth', key: emu.keyId, secret: emu.secret }));
    ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
    try {
      const first = ex.watchMyTrades();
      // Subscribed once the emulator counts both listeners.
      while (emu.stream.subscribers < 2) await new Promise((r) => setTimeout(r, 5));
      await fetch(`${emu.url}/v2/orders`, {
        method: 'POST',
        headers: { 'apca-api-key-id': emu.keyId, 'apca-api-secret-key': emu.secret },
        body: JSON.stringify({
          symbol: 'AAPL',
          side: 'buy',
          type: 'limit',
          qty: '3',
          limit_price: '190',
          time_in_force: 'day',
          client_order_id: 'x-1',
        }),
      });
      emu.fill('x-1', { qty: 1, price: 189 });
      const t1 = await first;
      const second = ex.watchMyTrades();
      emu.fill('x-1', { qty: 2, price: 189.9 });
      const trades = [...t1, ...(await second)];
      const mine = trades.filter((t) => t['order'] === emu.order('x-1')!.id);
      expect(mine.map((t) => t['amount'])).toEqual([1, 3]); // cumulative, not 1 then 2
      expect(mine.every((t) => t['id'] === undefined)).toBe(true);
      while (raw.filter((e) => e['executionId']).length < 2) await new Promise((r) => setTimeout(r, 5));
      const fills = raw.filter((e) => e['executionId']);
      expect(fills.map((e) => [e['qty'], e['price'], e['filled']])).toEqual([
        [1, 189, 1],
        [2, 189.9, 3],
      ]);
    } finally {
      ws.close();
      await ex.close();
    }
  });
});
