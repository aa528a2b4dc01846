import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../../src/config.js';
import { AlpacaAdapter } from '../../src/exchange/alpaca.js';
import { Executor } from '../../src/executor.js';
import { Journal } from '../../src/journal/index.js';
import type { PipelineDeps } from '../../src/pipeline.js';
import { startAlpacaEmulator, type AlpacaEmulator } from './alpaca-emulator.js';
import { testConfig } from './config.js';
import { testLog } from './logger.js';
import { baseSignal } from './signals.js';
import { alpacaDriver } from '../../src/venue/index.js';

/**
 * A live us_equity client (real journal in a temp dir, real ccxt.alpaca, the Executor) against a fresh Alpaca
 * emulator per test, on the emulator's virtual New York clock.
 */
export interface EquityLive {
  emu: AlpacaEmulator;
  journal: Journal;
  /** Pipeline deps for a config (deep-merged one level over the live us_equity defaults below). */
  deps(over?: Record<string, unknown>): Promise<PipelineDeps & { config: Config }>;
  /** A signed-looking signal for AAPL at 200, ingested now on the emulator's clock. */
  sig(over?: Record<string, unknown>): Signal;
  /** Open the journal again (a restart). */
  reopen(): void;
}

export function useEquityLive(startNy = '2026-11-23T10:00'): EquityLive {
  const ctx = {} as EquityLive;
  let ex: AlpacaAdapter | undefined;
  let dir: string;
  let seq = 0;
  beforeEach(async () => {
    ctx.emu = await startAlpacaEmulator({ now: startNy });
    dir = mkdtempSync(join(tmpdir(), 'cc-eqlive-'));
    ctx.journal = Journal.open(join(dir, 'j.sqlite'));
  });
  afterEach(async () => {
    await ex?.close();
    ex = undefined;
    ctx.journal.close();
    await ctx.emu.close();
    rmSync(dir, { recursive: true, force: true });
  });
  ctx.reopen = () => {
    ctx.journal.close();
    ctx.journal = Journal.open(join(dir, 'j.sqlite'));
  };
  ctx.deps = async (over = {}) => {
    await ex?.close();
    const config: Config = testConfig({
      mode: 'live',
      exchange: {
        venue: 'us_equity',
        timeout_ms: 1500,
        alpaca: { endpoint: 'live', base_url: ctx.emu.url },
      },
      risk: {
        cooldown_per_symbol_ms: 0,
        max_exposure_per_symbol_quote: 5000,
        max_total_exposure_quote: 9000,
      },
      sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 },
      ...over,
    } as never);
    ex = await AlpacaAdapter.create({
      config,
      secrets: {
        serverKey: undefined,
        exchangeApiKey: ctx.emu.keyId,
        exchangeSecret: ctx.emu.secret,
        exchangePassword: undefined,
      },
      rateLimitMs: 1,
      cancelSettleMs: 2000,
    });
    await ex.loadMarkets();
    const now = () => ctx.emu.now();
    const executor = new Executor(ctx.journal, ex, config, testLog, now);
    const venue = alpacaDriver({ config, journal: ctx.journal, log: testLog, now }, ex);
    return { config, journal: ctx.journal, exchange: ex, venue, executor, log: testLog, now };
  };
  ctx.sig = (over = {}) =>
    baseSignal(++seq, { symbol: 'AAPL', price: 200, ...over } as Partial<Signal>, ctx.emu.now()) as Signal;
  return ctx;
}
