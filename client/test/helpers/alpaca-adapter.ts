import { afterEach, beforeEach } from 'vitest';
import { AlpacaAdapter } from '../../src/exchange/alpaca.js';
import type { EquityOrderRequest } from '../../src/exchange/equity-types.js';
import { startAlpacaEmulator, type AlpacaEmulator, type SeenRequest } from './alpaca-emulator.js';
import { testConfig } from './config.js';

/** The real AlpacaAdapter (real ccxt.alpaca) pointed at an emulator; rate limit lowered for tests. */
export function alpacaAdapter(
  e: AlpacaEmulator,
  o: { keyId?: string; secret?: string; sandbox?: boolean } = {},
): Promise<AlpacaAdapter> {
  return AlpacaAdapter.create({
    config: testConfig({
      mode: 'live',
      exchange: { id: 'alpaca', base_url: e.url, timeout_ms: 1500, sandbox: o.sandbox ?? false },
    }),
    secrets: {
      serverKey: undefined,
      exchangeApiKey: o.keyId ?? e.keyId,
      exchangeSecret: o.secret ?? e.secret,
      exchangePassword: undefined,
    },
    rateLimitMs: 1,
    cancelSettleMs: 2000,
  });
}

export interface AlpacaCtx {
  emu: AlpacaEmulator;
  ex: AlpacaAdapter;
  /** A limit buy of 2 AAPL at 199.50 unless overridden. */
  buy(cid: string, over?: Partial<EquityOrderRequest>): ReturnType<AlpacaAdapter['createOrder']>;
  /** The body of the last POST /v2/orders the emulator saw. */
  lastPost(): SeenRequest;
}

/** A fresh emulator (Monday 2026-11-23 10:00 New York) and adapter with loaded markets, per test. */
export function useAlpaca(): AlpacaCtx {
  const ctx = {} as AlpacaCtx;
  beforeEach(async () => {
    ctx.emu = await startAlpacaEmulator();
    ctx.ex = await alpacaAdapter(ctx.emu);
    await ctx.ex.loadMarkets();
  });
  afterEach(async () => {
    await ctx.ex?.close();
    await ctx.emu?.close();
  });
  ctx.buy = (cid, over = {}) =>
    ctx.ex.createOrder({
      clientOrderId: cid,
      market: 'AAPL/USD',
      side: 'buy',
      type: 'limit',
      amount: 2,
      price: 199.5,
      refPrice: 200,
      ...over,
    });
  ctx.lastPost = () => ctx.emu.requests.filter((r) => r.method === 'POST' && r.path === '/v2/orders').at(-1)!;
  return ctx;
}
