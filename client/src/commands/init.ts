import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AssetClass } from '@catalyst-signal/shared';
import { DEFAULT_SERVER_URL, type VenueKind } from '../config.js';
import { failover, fetchHistory } from '../http.js';
import { CLIENT_BIN, clientCommand } from '../recovery.js';

/**
 * `catalyst-client init`: a commented config with safe defaults (paper mode). Secrets go in the environment.
 * The venue follows what the server publishes: the one real publisher (Catalyst-Bot) sends US small caps, so a
 * crypto config would trade stock tickers as token pairs. us_equity is the default whenever the server cannot tell.
 */

/** `server:` lines: one URL as url, several (a cluster's gateways) as urls. */
function serverLines(urls: readonly string[]): string {
  if (urls.length === 1) return `  url: ${urls[0]}`;
  return `  urls:                            # gateways of one cluster: failover in this order\n${urls.map((u) => `    - ${u}`).join('\n')}`;
}

/** How many of the newest signals `init` reads to see what the server publishes. */
export const VENUE_SAMPLE = 20;

export interface VenueGuess {
  venue: VenueKind;
  /** Why this venue, one line for the person running init. */
  why: string;
  /** True when the server told us (signals with an asset_class); false when us_equity is only the fallback. */
  known: boolean;
}

/**
 * The venue the server's newest signals are about, from their asset_class over REST. Unknown (no key, server
 * unreachable, no signals, none stating a class) falls back to us_equity, the publisher's market, and says so.
 */
export async function guessVenue(opts: {
  urls: readonly string[];
  key: string | undefined;
  keyEnv: string;
  timeoutMs?: number;
}): Promise<VenueGuess> {
  const fallback = (reason: string): VenueGuess => ({
    venue: 'us_equity',
    known: false,
    why: `${reason}; venue us_equity (US stocks, what the Catalyst-Bot publisher sends)`,
  });
  if (!opts.key)
    return fallback(
      `no read key in ${opts.keyEnv} (environment or .env) to ask the server what it publishes`,
    );
  const timeoutMs = opts.timeoutMs ?? 5_000;
  try {
    const newest = await failover(opts.urls, async (baseUrl) => {
      const s = { baseUrl, key: opts.key, timeoutMs, failFast: true };
      const { head_seq } = await fetchHistory(s, 0, 1);
      return head_seq === 0
        ? []
        : (await fetchHistory(s, Math.max(0, head_seq - VENUE_SAMPLE), VENUE_SAMPLE)).signals;
    });
    const equity = newest.filter((x) => x.asset_class === AssetClass.usEquity).length;
    const crypto = newest.filter((x) => x.asset_class === AssetClass.crypto).length;
    if (newest.length === 0) return fallback('the server has no signals yet');
    if (equity + crypto === 0)
      return fallback(`none of the server's last ${newest.length} signals states an asset_class`);
    const venue: VenueKind = crypto > equity ? 'crypto_spot' : 'us_equity';
    return {
      venue,
      known: true,
      why: `the server's last ${newest.length === 1 ? 'signal' : `${newest.length} signals`}: ${equity} us_equity, ${crypto} crypto${newest.length > equity + crypto ? `, ${newest.length - equity - crypto} unstated` : ''}`,
    };
  } catch (e) {
    return fallback(`could not ask the server (${(e as Error).message})`);
  }
}

const SECRETS: Record<VenueKind, string> = {
  us_equity: `#   APCA_API_KEY_ID=PK...                  your Alpaca PAPER key id (free account at alpaca.markets)
#   APCA_API_SECRET_KEY=...                its secret; an offline paper run needs neither`,
  crypto_spot: `#   CATALYST_EXCHANGE_API_KEY=...          only for live trading (trade permission, NO withdrawals)
#   CATALYST_EXCHANGE_SECRET=...`,
};

const EXCHANGE: Record<VenueKind, string> = {
  us_equity: `exchange:
  venue: us_equity                 # US stocks on Alpaca (crypto instead: init --force --venue crypto_spot)
  symbol_map: {}                   # tickers trade as they are; exceptions e.g. { BRK-B: BRK.B }
  alpaca:
    endpoint: paper                # paper-api.alpaca.markets: Alpaca's simulated account (live = real money)
    api_key_env: APCA_API_KEY_ID   # names of the variables holding your keys (above), never the keys
    secret_env: APCA_API_SECRET_KEY
    feed: iex                      # sip needs a paid Alpaca data plan

equities:
  session_policy: regular_only     # regular_only | extended (pre-market, after-hours) | hold_until_open
  regular_order_type: market       # market | limit; a bracket when the signal gives stop and target
  limit_slippage_pct: 1
  min_price: 0.1                   # USD; outside the band: skipped:price_band
  max_price: 10000
  allow_short: false
  fractional: false                # whole shares
  avoid_window_ms: 86400000        # an avoid signal blocks entries in its symbol this long
  avoid_exits: false
  exits_while_paused: true`,
  crypto_spot: `exchange:
  venue: crypto_spot               # a ccxt spot exchange (US stocks instead: init --force --venue us_equity)
  # id: binance                    # any ccxt id; without one, paper mode fills at signal prices offline
  sandbox: false
  quote: USDT                      # signal BTC -> market BTC/USDT
  symbol_map: {}                   # e.g. { XBT: BTC/USD }`,
};

export function configTemplate(
  serverUrls: string | readonly string[],
  venue: VenueKind = 'us_equity',
): string {
  const urls = typeof serverUrls === 'string' ? [serverUrls] : serverUrls;
  const quote = venue === 'us_equity' ? 'USD' : 'quote';
  return `# Catalyst client configuration. Reference of every key: docs/client.md (generated from the schema).
# Secrets are NOT stored here. Put them in the environment or in a .env file next to this file:
#   CATALYST_SERVER_KEY=cat_...            your key for the signal server (read scope)
${SECRETS[venue]}

# paper = simulated fills (default). live = real orders, and ONLY together with: catalyst-client run --live
mode: paper
data_dir: ./catalyst-client-data       # journal (SQLite): cursor, decisions, orders, positions
log_level: info

server:
${serverLines(urls)}
  # signing_key_fingerprint: SHA256:...   # optional; otherwise pinned on first check/run
  start_from: head                 # a fresh install ignores history (use \`replay\` to see it)
  max_clock_skew_ms: 2000
  reconnect: { initial_delay_ms: 500, factor: 2, max_delay_ms: 30000, jitter: full }

${EXCHANGE[venue]}

filters:
  symbols_allow: []                # empty = all
  symbols_deny: []
  catalysts: []                    # empty = all
  directions: [long, short]
  min_confidence: 0.6
  max_signal_age_ms: 60000         # older signals are skipped:stale
  # max_price_drift_pct: 2         # skip when the ticker moved this far from the signal price

sizing:                            # amounts in ${quote}
  mode: fixed_quote                # fixed_quote | equity_pct | risk_pct
  fixed_quote: 25
  equity_pct: 2
  risk_pct: 0.5
  default_stop_pct: 5
  confidence_scaling: false
  max_quote_per_trade: 100
  below_minimum: skip              # skip | raise (never above raise_cap_quote)
  raise_cap_quote: 15

risk:
  max_open_positions: 5
  max_exposure_per_symbol_quote: 200
  max_total_exposure_quote: 500
  max_daily_loss_quote: 50
  max_orders_per_day: 20
  cooldown_per_symbol_ms: 900000
${venue === 'crypto_spot' ? '  short_on_spot: skip              # skip | sell_holdings\n' : ''}
execution:
  order_type: market               # market | limit
  limit_offset_pct: 0.1

paper:
  starting_balance_quote: 1000
  fee_rate: 0.001
  slippage_pct: 0.05

# The local dashboard (catalyst-client dashboard, or run --dashboard): 127.0.0.1 only, a new token each start.
dashboard:
  enabled: false                   # true: run serves it too and prints its URL
  port: 0                          # 0 = a random free port
`;
}

export function initCommand(opts: {
  config: string;
  server?: string | readonly string[] | undefined;
  force?: boolean | undefined;
  venue?: VenueKind | undefined;
}): string {
  const path = resolve(opts.config);
  if (existsSync(path) && !opts.force) throw new Error(`${path} already exists (use --force to overwrite)`);
  writeFileSync(
    path,
    configTemplate(
      opts.server === undefined || opts.server.length === 0 ? DEFAULT_SERVER_URL : opts.server,
      opts.venue,
    ),
    { mode: 0o600 },
  );
  return path;
}

/** Interactive init: ask, with the guess as the default (Enter, or the input ending, keeps it). */
export async function askVenue(
  guess: VenueGuess,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream },
): Promise<VenueKind> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: io.input, terminal: false });
  // The iterator buffers lines typed (or piped) before each prompt is written.
  const lines = rl[Symbol.asyncIterator]();
  try {
    io.output.write(`${guess.known ? '' : 'note: '}${guess.why}\n`);
    for (;;) {
      io.output.write(
        `trade what? 1 = us_equity (US stocks, Alpaca paper), 2 = crypto_spot (a ccxt exchange) [${guess.venue}]: `,
      );
      const next = await lines.next();
      const a = next.done ? '' : String(next.value).trim().toLowerCase();
      if (a === '') return guess.venue;
      if (a === '1' || a === 'us_equity') return 'us_equity';
      if (a === '2' || a === 'crypto_spot') return 'crypto_spot';
      io.output.write('answer 1, 2, us_equity or crypto_spot (Enter keeps the default)\n');
    }
  } finally {
    rl.close();
  }
}

/**
 * The line `init` ends with: only the secrets still missing (from the environment or the .env just loaded), then
 * `check` spelled as the friend can paste it. A friend who followed the Quick start has the read key in .env
 * already and should not be told to put it there again.
 */
export function nextStep(
  venue: 'us_equity' | 'crypto_spot',
  env: Record<string, string | undefined>,
  configArg: string,
): string {
  const check = configArg === 'catalyst.yaml' ? `${CLIENT_BIN} check` : clientCommand(configArg, 'check');
  const missing = (name: string) => !env[name];
  const server = missing('CATALYST_SERVER_KEY') ? 'CATALYST_SERVER_KEY=... (your read key)' : undefined;
  const alpaca =
    venue === 'us_equity' && (missing('APCA_API_KEY_ID') || missing('APCA_API_SECRET_KEY'))
      ? 'APCA_API_KEY_ID/APCA_API_SECRET_KEY for your Alpaca paper account (paper mode runs without them)'
      : undefined;
  const todo = [server, alpaca].filter(Boolean);
  return todo.length ? `next: put ${todo.join('; ')} in .env, then run: ${check}` : `next: ${check}`;
}
