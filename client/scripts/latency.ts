/**
 * Measures "signal frame received -> order request written", excluding exchange latency, through the real
 * Connection + pipeline + journal (SQLite WAL, synchronous=FULL) + executor, against the fake signal server:
 *   1. paper mode, offline (no exchange at all);
 *   2. live mode through the real ccxt.binance class and the Binance emulator, minus the time spent in the
 *      exchange's ticker/balance calls that precede the order;
 *   3. live us_equity through the real ccxt.alpaca class and the Alpaca emulator (regular session, bracket
 *      entries; the driver that reads the broker on every decision, not run's warm one), minus the wall time during which any broker read (calendar, clock, asset, account, quote,
 *      positions, last trade) was in flight. ccxt's Alpaca pacing (333 ms between requests) is lowered to 1 ms:
 *      it is broker time too, and would make 1000 signals take an hour.
 *   4. `wire` (issue 21): signal frame received -> order request ON THE WIRE (the emulator timestamps its arrival),
 *    broker time included, ccxt's real pacing (nothing lowered): live us_equity through the warm account state with
 *    its background refreshes running, bracket entries, one signal every --interval ms (default 450: under the
 *    150 orders/min the order budget allows); then Binance in the same run, the same way (its ticker and balance
 *    reads before the order included; `--no-binance` leaves it out). `--smoke`: 20 entries.
 * Run: npx tsc -b && npx tsx client/scripts/latency.ts [count] [paper|binance|alpaca|wire ...] [--interval MS] [--smoke]
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
import { alpacaDriver, cryptoSpotDriver, paperVenue, warmState } from '../dist/venue/index.js';
import { startAccountRefresh } from '../dist/exchange/account-refresh.js';
import { createVerifier } from '../dist/verify.js';
import { parseConfig } from '../dist/config.js';
import { startAlpacaEmulator } from '../test/helpers/alpaca-emulator.js';
import { startBinanceEmulator } from '../test/helpers/binance-emulator.js';
import { FakeSignalServer } from '../test/helpers/fake-server.js';

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SMOKE = process.argv.includes('--smoke');
const positional = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--interval');
const counted = /^\d+$/.test(positional[0] ?? '');
const N = SMOKE ? 20 : counted ? Number(positional[0]) : 300;
const INTERVAL_MS = Number(flag('--interval') ?? 450);
type Venue = 'paper' | 'binance' | 'alpaca';
const VENUES = positional.slice(counted ? 1 : 0) as (Venue | 'wire')[];
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

/**
 * Signal frame received -> order request on the wire, broker time included, with nothing lowered: each signal is
 * published on a fixed schedule (open loop), and its order request's arrival is read from the emulator.
 */
async function onTheWire(venue: 'alpaca' | 'binance'): Promise<{ samples: number[]; note: string }> {
  const server = await FakeSignalServer.start({ heartbeatMs: 5000 });
  const binance =
    venue === 'binance'
      ? await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1e12 } })
      : undefined;
  const alpaca = venue === 'alpaca' ? await startAlpacaEmulator({ account: { cash: 1e12 } }) : undefined;
  alpaca?.runClock('2026-11-23T10:00'); // a Monday, regular session; 1,000 x 450 ms ends before 10:08
  const dir = mkdtempSync(join(tmpdir(), 'cc-wire-'));
  const journal = Journal.open(join(dir, 'j.sqlite'));
  const config = parseConfig({
    mode: 'live',
    server: { url: server.url, start_from: 'all' },
    exchange: alpaca
      ? { venue: 'us_equity', alpaca: { endpoint: 'live', base_url: alpaca.url } }
      : { id: 'binance', base_url: binance!.url },
    filters: alpaca ? { max_signal_age_ms: 10 * 365 * 86_400_000 } : {},
    ...(alpaca ? { sizing: { fixed_quote: 1000, max_quote_per_trade: 1000 } } : {}),
    risk: {
      cooldown_per_symbol_ms: 0,
      max_orders_per_day: 1e6,
      max_total_exposure_quote: 1e12,
      max_exposure_per_symbol_quote: 1e12,
      max_open_positions: 1e6,
    },
  });
  const clock = alpaca ? () => alpaca.now() : Date.now;
  const secrets = alpaca
    ? {
        serverKey: 'x',
        exchangeApiKey: alpaca.keyId,
        exchangeSecret: alpaca.secret,
        exchangePassword: undefined,
      }
    : { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined };
  // The production objects, with ccxt's own pacing: the adapter run uses, the warm state and its timers.
  const exchange: ExchangeAdapter = alpaca
    ? await AlpacaAdapter.create({ config, secrets })
    : await CcxtAdapter.create({ config, secrets });
  await exchange.loadMarkets();
  // How much of each entry is the one market-data request (reported beside the total, not subtracted).
  const quoteMs: number[] = [];
  if (alpaca) {
    const a = exchange as AlpacaAdapter;
    const f = a.priceSnapshot.bind(a);
    a.priceSnapshot = async (symbol: string) => {
      const t = now();
      try {
        return await f(symbol);
      } finally {
        quoteMs.push(now() - t);
      }
    };
  }
  const dd = { config, journal, log, now: clock };
  const driver = alpaca
    ? alpacaDriver(
        dd,
        exchange as AlpacaAdapter,
        await warmState(exchange as AlpacaAdapter, startAccountRefresh, dd),
      )
    : cryptoSpotDriver(dd, exchange);
  const handed = new Map<string, number>();
  const executor = new Executor(journal, exchange, config, log, clock, (i) =>
    handed.set(i.client_order_id, now()),
  );
  const deps = { config, journal, venue: driver, executor, log, now: clock };
  const sent: { receivedAt: number; id: string | undefined }[] = [];
  const conn = new Connection({
    baseUrl: server.url,
    key: server.key,
    server: config.server,
    verify: await createVerifier(server.signer.jwk),
    cursor: journal,
    log,
    now,
    apply: async (signal, verified, at) => {
      const out = await processSignal(deps, signal, verified, Math.round(clock()));
      sent.push({ receivedAt: at, id: out.intents[0]?.client_order_id });
      if (sent.length % 100 === 0)
        process.stderr.write(`${venue}: ${sent.length}/${N} decided (last: ${out.decision.reason})\n`);
    },
  });
  conn.start();
  await new Promise((r) => conn.once('subscribed', r));
  const readsBefore = alpaca?.requests.length ?? 0;
  const t0 = performance.now();
  for (let i = 1; i <= N; i++) {
    const due = t0 + i * INTERVAL_MS;
    if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
    void server.publish(
      alpaca
        ? { symbol: 'AAPL', price: 200, stop_loss: 190, take_profit: 220 }
        : { symbol: 'BTC', price: 60000 },
    );
  }
  while (sent.length < N) await new Promise((r) => conn.once('applied', r));
  const elapsedMin = (performance.now() - t0) / 60_000;
  await conn.stop();
  const samples: number[] = [];
  let note = '';
  if (alpaca) {
    const inCcxt: number[] = [];
    for (const s of sent) {
      const post = s.id ? alpaca.posted(s.id)[0] : undefined;
      if (post) samples.push(post.at - s.receivedAt);
      if (post && s.id && handed.has(s.id)) inCcxt.push(post.at - handed.get(s.id)!);
    }
    note += `, of which order handed to ccxt -> on the wire p50 ${pct(inCcxt, 50).toFixed(2)} / p99 ${pct(inCcxt, 99).toFixed(2)} ms`;
    const during = alpaca.requests.slice(readsBefore);
    const reads = during.filter((r) => r.method === 'GET' && !r.path.startsWith('/v2/stocks')).length;
    note += `, the quote request p50 ${pct(quoteMs, 50).toFixed(2)} / p99 ${pct(quoteMs, 99).toFixed(2)} ms; background trading reads ${(reads / elapsedMin).toFixed(0)}/min, ${during.filter((r) => r.path.startsWith('/v2/stocks')).length} market-data requests`;
  } else {
    const posts = binance!.requestTimes.filter((_, i) => binance!.requests[i] === 'POST /api/v3/order');
    sent.forEach((s, i) => posts[i] !== undefined && samples.push(posts[i] - s.receivedAt));
  }
  if (samples.length === 0) throw new Error(`${venue}: no order reached the emulator`);
  await exchange.close();
  journal.close();
  await server.close();
  await binance?.close();
  await alpaca?.close();
  rmSync(dir, { recursive: true, force: true });
  return { samples, note };
}

const line = (label: string, xs: number[], extra = '') =>
  `${label}: n=${xs.length}  p50=${pct(xs, 50).toFixed(2)} ms  p99=${pct(xs, 99).toFixed(2)} ms  max=${Math.max(...xs).toFixed(2)} ms${extra}\n`;

if (VENUES.includes('wire')) {
  const a = await onTheWire('alpaca');
  process.stdout.write(
    line('us_equity live (Alpaca emulator), frame -> order on the wire', a.samples, a.note),
  );
  if (!process.argv.includes('--no-binance')) {
    const b = await onTheWire('binance');
    process.stdout.write(
      line('crypto live (Binance emulator), frame -> order on the wire, same run', b.samples),
    );
  }
}

const runs: [Venue, string][] = [
  ['paper', 'paper, offline         '],
  ['binance', 'live (emulator), excl. exchange'],
  ['alpaca', 'us_equity live (Alpaca emulator), excl. broker'],
];
for (const [venue, label] of runs)
  if (VENUES.length === 0 || VENUES.includes(venue)) await measure(label, venue);
