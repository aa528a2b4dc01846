import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseServerFrame, type Signal } from '@catalyst-signal/shared';
import { CcxtAdapter } from '../src/exchange/ccxt.js';
import { Executor } from '../src/executor.js';
import { Journal } from '../src/journal/index.js';
import { processSignal } from '../src/pipeline.js';
import { DEFAULT_MARKETS, startBinanceEmulator, type BinanceEmulator } from './helpers/binance-emulator.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';
import { cryptoSpotDriver } from '../src/venue/index.js';

// The venue gate in the live crypto pipeline, against the REAL ccxt.binance class and the emulator: a stock
// signal whose ticker is also a token, and a pair quoted in BTC on a USDT config, are refused before the client
// asks the exchange anything (no ticker, no balance, no order), while the account could pay for both.

let emu: BinanceEmulator;
let dir: string;
let journal: Journal;
let ex: CcxtAdapter | undefined;
const ok = { ok: true } as const;

beforeEach(async () => {
  emu = await startBinanceEmulator({
    apiKey: 'k',
    secret: 's',
    markets: [
      ...DEFAULT_MARKETS,
      {
        symbol: 'ETHBTC',
        base: 'ETH',
        quote: 'BTC',
        price: 0.03,
        tickSize: '0.00001',
        stepSize: '0.001',
        minQty: '0.001',
        minNotional: '0.0001',
      },
    ],
    balances: { USDT: 1000, BTC: 100 },
  });
  dir = mkdtempSync(join(tmpdir(), 'cc-venue-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(async () => {
  await ex?.close();
  journal.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deps(symbolMap: Record<string, string> = {}) {
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 2000, quote: 'USDT', symbol_map: symbolMap },
    sizing: { fixed_quote: 25, max_quote_per_trade: 100 },
    risk: { cooldown_per_symbol_ms: 0 },
  });
  ex = await CcxtAdapter.create({
    config,
    secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
  });
  await ex.loadMarkets();
  return {
    config,
    journal,
    exchange: ex,
    venue: cryptoSpotDriver({ config, journal, log: testLog, now: Date.now }, ex),
    executor: new Executor(journal, ex, config, testLog),
    log: testLog,
    now: Date.now,
  };
}

const sig = (seq: number, over: Partial<Signal>) => baseSignal(seq, over) as Signal;

describe('venue gate in the live crypto pipeline (emulator)', () => {
  it('a us_equity signal is skipped:asset_class before any exchange request, even when the ticker is a token', async () => {
    const d = await deps();
    const before = emu.requests.length;
    const out = await processSignal(d, sig(1, { symbol: 'BTC', asset_class: 'us_equity' }), ok, Date.now());
    expect(out.decision).toMatchObject({ verdict: 'skip', reason: 'skipped:asset_class', legs: [] });
    expect(emu.requests.slice(before)).toEqual([]);
    expect(emu.orders).toHaveLength(0);
    // The same symbol stated as crypto, or not stated (v1), trades as before.
    const crypto = await processSignal(d, sig(2, { symbol: 'BTC', asset_class: 'crypto' }), ok, Date.now());
    expect(crypto.decision.reason).toBe('trade:entry');
    const v1 = await processSignal(d, sig(3, { symbol: 'ETH', price: 3000 }), ok, Date.now());
    expect(v1.decision.reason).toBe('trade:entry');
  });

  it('ETH/BTC on quote USDT is skipped:foreign_quote before any exchange request; only symbol_map allows it', async () => {
    const d = await deps();
    const before = emu.requests.length;
    const out = await processSignal(d, sig(1, { symbol: 'ETH/BTC', price: 0.03 }), ok, Date.now());
    expect(out.decision).toMatchObject({ verdict: 'skip', reason: 'skipped:foreign_quote', legs: [] });
    expect(emu.requests.slice(before)).toEqual([]);
    expect(emu.orders).toHaveLength(0);
    // A pair in the configured quote is the same market as its base alone.
    const same = await processSignal(d, sig(2, { symbol: 'eth/usdt', price: 3000 }), ok, Date.now());
    expect(same.intents[0]).toMatchObject({ market: 'ETH/USDT', status: 'filled' });
    expect(emu.orders).toHaveLength(1);
  });

  it('a symbol the friend mapped to another quote trades there (their explicit choice)', async () => {
    const d = await deps({ ETHBTC: 'ETH/BTC' });
    const out = await processSignal(d, sig(1, { symbol: 'ETHBTC', price: 0.03 }), ok, Date.now());
    expect(out.intents[0]).toMatchObject({ market: 'ETH/BTC', side: 'buy' });
  });
});

describe('the wire grammar on receipt', () => {
  it('a signal frame whose symbol is ".", ".." or holds invisible characters is refused; a ticker is not', () => {
    const frame = (symbol: string) =>
      JSON.stringify({ type: 'signal', signal: { ...baseSignal(7, { symbol }), sig: 'x' } });
    for (const symbol of ['.', '..', './USDT', '../USDT', 'BTC\u200b', 'BTC\u202e', 'BTC\u0000'])
      expect(parseServerFrame(frame(symbol)).ok, JSON.stringify(symbol)).toBe(false);
    for (const symbol of ['BTC', 'BRK.B', 'BTC/USDT', 'BTC-USDT'])
      expect(parseServerFrame(frame(symbol)).ok, symbol).toBe(true);
  });
});
