/**
 * Measures "signal frame received -> order request written", excluding exchange latency, through the real
 * Connection + pipeline + journal (SQLite WAL, synchronous=FULL) + executor, against the fake signal server:
 *   1. paper mode, offline (no exchange at all);
 *   2. live mode through the real ccxt.binance class and the Binance emulator, minus the time spent in the
 *      exchange's ticker/balance calls that precede the order;
 *   3. live us_equity through the real ccxt.alpaca class and the Alpaca emulator (regular session, bracket
 *      entries), minus the wall time during which any broker read (calendar, clock, asset, account, quote,
 *      positions, last trade) was in flight. ccxt's Alpaca pacing (333 ms between requests) is lowered to 1 ms:
 *      it is broker time too, and would make 1000 signals take an hour.
 * Run: npx tsc -b && npx tsx client/scripts/latency.ts [count] [paper|binance|alpaca ...]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Connection } from '../dist/connection.js';
import { AlpacaAdapter } from '../dist/exchange/alpaca.js';
import { CcxtAdapter } from '../dist/exchange/ccxt.js';
import { PaperAdapter, type ExchangeAdapter } from '../dist/exchange/index.js';
import { Executor } from '../dist/executor.js';
import { Journal } from '../dist/journal/index.js';
import { processSignal } from '../dist/pipeline.js';
import { alpacaDriver, cryptoSpotDriver, paperVenue } from '../dist/venue/index.js';
import { createVerifier } from '../dist/verify.js';
import { parseConfig } from '../dist/config.js';
import { startAlpacaEmulator } from '../test/helpers/alpaca-emulator.js';
import { startBinanceEmulator } from '../test/helpers/binance-emulator.js';
import { FakeSignalServer } from '../test/helpers/fake-server.js';

const N = Number(process.argv[2] ?? 300);
type Venue = 'paper' | 'binance' | 'alpaca';
const VENUES = process.argv.slice(3) as Venue[];
const log = pino({ level: 'silent' });
const now = () => performance.timeOrigin + performance.now();

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * Exchange time to exclude: the wall time during which at least one exchange call was in flight (the equity
 * snapshot reads in parallel, so summing each call's duration would exclude too much).
 */
class BusyClock {
  ms = 0;
  private inFlight = 0;
  private since = 0;
  wrap<A extends unknown[], T>(fn: (...a: A) => Promise<T>): (...a: A) => Promise<T> {
    return async (...a: A) => {
      if (this.inFlight++ === 0) this.since = now();
      try {
        return await fn(...a);
      } finally {
        if (--this.inFlight === 0) this.ms += now() - this.since;
      }
    };
  }
}

const EXCLUDED = {
  paper: [],
  binance: ['ticker', 'balances'],
  alpaca: ['ticker', 'balances', 'calendar', 'clock', 'asset', 'account', 'latestQuote', 'positions'],
} as const;

async function measure(label: string, venue: Venue): Promise<void> {
  const live = venue !== 'paper';
  const server = await FakeSignalServer.start({ heartbeatMs: 5000 });
  const binance =
    venue === 'binance'
      ? await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1e9 } })
      : undefined;
  const alpaca = venue === 'alpaca' ? await startAlpacaEmulator({ account: { cash: 1e12 } }) : undefined;
  alpaca?.runClock('2026-11-23T10:00'); // a Monday, regular session
  const dir = mkdtempSync(join(tmpdir(), 'cc-lat-'));
  const journal = Journal.open(join(dir, 'j.sqlite'));
  const config = parseConfig({
    mode: live ? 'live' : 'paper',
    server: { url: server.url, start_from: 'all' },
    exchange:
      venue === 'binance'
        ? { id: 'binance', base_url: binance!.url }
        : venue === 'alpaca'
          ? { venue: 'us_equity', alpaca: { endpoint: 'live', base_url: alpaca!.url } }
          : {},
    // The Alpaca run lives on the emulator's trading day, the fake server on the real one.
    filters: venue === 'alpaca' ? { max_signal_age_ms: 10 * 365 * 86_400_000 } : {},
    paper: { starting_balance_quote: 1e9 },
    ...(venue === 'alpaca' ? { sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 } } : {}),
    risk: {
      cooldown_per_symbol_ms: 0,
      max_orders_per_day: 1e6,
      max_total_exposure_quote: 1e9,
      max_exposure_per_symbol_quote: 1e9,
      max_open_positions: 1e6,
    },
  });
  const busy = new BusyClock();
  let inner: ExchangeAdapter = new PaperAdapter(journal, config);
  if (venue === 'binance') {
    inner = await CcxtAdapter.create({
      config,
      secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
    });
  }
  if (venue === 'alpaca') {
    inner = await AlpacaAdapter.create({
      config,
      secrets: {
        serverKey: 'x',
        exchangeApiKey: alpaca!.keyId,
        exchangeSecret: alpaca!.secret,
        exchangePassword: undefined,
      },
      rateLimitMs: 1,
    });
  }
  await inner.loadMarkets();
  // Time spent waiting for the exchange before the order (its reads) is excluded from the figure; the rest of
  // the adapter (createOrder, market()) is the real object underneath.
  const exchange = Object.create(inner) as ExchangeAdapter;
  const loose = exchange as unknown as Record<string, unknown>;
  for (const name of EXCLUDED[venue]) {
    const f = (inner as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
    loose[name] = busy.wrap(f.bind(inner));
  }
  const samples: number[] = [];
  let receivedAt = 0;
  const clock = alpaca ? () => alpaca.now() : Date.now;
  const executor = new Executor(journal, exchange, config, log, clock, () => {
    samples.push(now() - receivedAt - busy.ms);
  });
  const dd = { config, journal, log, now: clock };
  // The wrapper keeps the adapter's prototype: the driver of its venue reads through the timed methods.
  const driver =
    venue === 'alpaca'
      ? alpacaDriver(dd, exchange as AlpacaAdapter)
      : venue === 'binance'
        ? cryptoSpotDriver(dd, exchange)
        : paperVenue(dd, exchange as PaperAdapter);
  const deps = { config, journal, venue: driver, executor, log, now: clock };
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
      busy.ms = 0;
      await processSignal(deps, signal, verified, Math.round(clock()));
    },
  });
  conn.start();
  await new Promise((r) => conn.once('subscribed', r));
  for (let i = 1; i <= N; i++) {
    const applied = new Promise((r) => conn.once('applied', r));
    await server.publish(
      alpaca
        ? { symbol: 'AAPL', price: 200, stop_loss: 190, take_profit: 220 }
        : { symbol: 'BTC', price: 60000 },
    );
    await applied;
  }
  await conn.stop();
  if (samples.length === 0) {
    const why = journal.decisions({ limit: 3 }).map((d) => `${d.reason} ${d.detail}`);
    throw new Error(`${label}: no order was sent (last decisions: ${why.join('; ')})`);
  }
  await inner.close();
  journal.close();
  await server.close();
  await binance?.close();
  const orders = alpaca?.ledger().length;
  await alpaca?.close();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `${label}: n=${samples.length}${orders !== undefined ? ` (${orders} broker orders)` : ''}  p50=${pct(samples, 50).toFixed(2)} ms  p99=${pct(samples, 99).toFixed(2)} ms  max=${Math.max(...samples).toFixed(2)} ms\n`,
  );
}

const runs: [Venue, string][] = [
  ['paper', 'paper, offline         '],
  ['binance', 'live (emulator), excl. exchange'],
  ['alpaca', 'us_equity live (Alpaca emulator), excl. broker'],
];
for (const [venue, label] of runs)
  if (VENUES.length === 0 || VENUES.includes(venue)) await measure(label, venue);
