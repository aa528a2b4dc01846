/**
 * Measures "signal frame received -> order request written", excluding exchange latency, through the real
 * Connection + pipeline + journal (SQLite WAL, synchronous=FULL) + executor, against the fake signal server:
 *   1. paper mode, offline (no exchange at all);
 *   2. live mode through the real ccxt.binance class and the Binance emulator, minus the time spent in the
 *      exchange's ticker/balance calls that precede the order.
 * Run: npx tsc -b && npx tsx client/scripts/latency.ts [count]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Connection } from '../dist/connection.js';
import { CcxtAdapter } from '../dist/exchange/ccxt.js';
import { PaperAdapter, type ExchangeAdapter } from '../dist/exchange/index.js';
import { Executor } from '../dist/executor.js';
import { Journal } from '../dist/journal/index.js';
import { processSignal } from '../dist/pipeline.js';
import { createVerifier } from '../dist/verify.js';
import { parseConfig } from '../dist/config.js';
import { startBinanceEmulator } from '../test/helpers/binance-emulator.js';
import { FakeSignalServer } from '../test/helpers/fake-server.js';

const N = Number(process.argv[2] ?? 300);
const log = pino({ level: 'silent' });
const now = () => performance.timeOrigin + performance.now();

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function measure(label: string, live: boolean): Promise<void> {
  const server = await FakeSignalServer.start({ heartbeatMs: 5000 });
  const emu = live
    ? await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1e9 } })
    : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'cc-lat-'));
  const journal = Journal.open(join(dir, 'j.sqlite'));
  const config = parseConfig({
    mode: live ? 'live' : 'paper',
    server: { url: server.url, start_from: 'all' },
    exchange: live ? { id: 'binance', base_url: emu!.url } : {},
    paper: { starting_balance_quote: 1e9 },
    risk: {
      cooldown_per_symbol_ms: 0,
      max_orders_per_day: 1e6,
      max_total_exposure_quote: 1e9,
      max_exposure_per_symbol_quote: 1e9,
      max_open_positions: 1e6,
    },
  });
  let exchangeMs = 0;
  let inner: ExchangeAdapter = new PaperAdapter(journal, config);
  if (live) {
    inner = await CcxtAdapter.create({
      config,
      secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
    });
  }
  await inner.loadMarkets();
  // Time spent waiting for the exchange before the order (ticker, balance) is excluded from the figure.
  const timed =
    <T>(fn: () => Promise<T>) =>
    async () => {
      const t = now();
      try {
        return await fn();
      } finally {
        exchangeMs += now() - t;
      }
    };
  const exchange: ExchangeAdapter = Object.assign(Object.create(inner) as ExchangeAdapter, {
    ticker: (s: string) => timed(() => inner.ticker(s))(),
    balances: () => timed(() => inner.balances())(),
  });
  const samples: number[] = [];
  let receivedAt = 0;
  const executor = new Executor(journal, exchange, config, log, Date.now, () => {
    samples.push(now() - receivedAt - exchangeMs);
  });
  const deps = { config, journal, exchange, executor, log, now: Date.now };
  const conn = new Connection({
    baseUrl: server.url,
    key: server.key,
    server: config.server,
    verify: await createVerifier(server.signer.jwk),
    cursor: journal,
    log,
    now,
    apply: async (signal, verified, at) => {
      receivedAt = at;
      exchangeMs = 0;
      await processSignal(deps, signal, verified, Math.round(at));
    },
  });
  conn.start();
  await new Promise((r) => conn.once('subscribed', r));
  for (let i = 1; i <= N; i++) {
    const applied = new Promise((r) => conn.once('applied', r));
    await server.publish({ symbol: 'BTC', price: 60000 });
    await applied;
  }
  await conn.stop();
  await inner.close();
  journal.close();
  await server.close();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `${label}: n=${samples.length}  p50=${pct(samples, 50).toFixed(2)} ms  p99=${pct(samples, 99).toFixed(2)} ms  max=${Math.max(...samples).toFixed(2)} ms\n`,
  );
}

await measure('paper, offline         ', false);
await measure('live (emulator), excl. exchange', true);
