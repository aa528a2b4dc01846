import { z } from 'zod';
import { createHash } from 'node:crypto';
import { COSIGNATURE_V1_TYPE, DIRECTIONS, parseVerifierKey } from '@catalyst-signal/shared';
import { AlpacaSchema, EquitiesSchema } from './config-equities.js';
import { renderReference } from './config-reference.js';
import { ConfigError } from './errors.js';
import { NotifyOptionsSchema, NotifySchema } from './notify/config.js';

/**
 * The client's whole configuration: ONE zod schema holding every default and a description per field, so the
 * config reference in docs/client.md is generated from it (renderConfigReference) and can never drift.
 * Secrets never live here: the schema only names the environment variables that hold them.
 */

const positive = () => z.number().positive();
const nonNeg = () => z.number().min(0);
const envName = () => z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name');

export const ReconnectSchema = z
  .strictObject({
    initial_delay_ms: z.int().min(1).default(500).describe('First reconnect delay (before jitter).'),
    factor: z.number().min(1).default(2).describe('Each failed attempt multiplies the delay by this.'),
    max_delay_ms: z.int().min(1).default(30_000).describe('Upper bound of the delay.'),
    jitter: z
      .enum(['full', 'none'])
      .default('full')
      .describe(
        'full: wait a uniform random time in [0, delay] so many clients do not reconnect in lockstep.',
      ),
  })
  .describe('Reconnect backoff: delay = min(max_delay_ms, initial_delay_ms * factor^attempt), then jitter.');

/** Where the client looks when neither server.url nor server.urls is given (a server on this machine). */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8787';

const serverUrl = () => z.url({ protocol: /^https?$/ });

const ServerFields = z.strictObject({
  url: serverUrl()
    .optional()
    .describe(
      `Base URL of the signal server (http or https); the stream is ws(s)://<host>/v1/stream. Default ${DEFAULT_SERVER_URL} when server.urls is not given.`,
    ),
  urls: z
    .array(serverUrl())
    .min(1)
    .max(16)
    .optional()
    .describe(
      'Instead of url: several gateways of one cluster (same log), tried in order. A lost stream fails over to the next at once and resumes by seq; REST calls try the next on a connection error or 5xx.',
    ),
  key_env: envName()
    .default('CATALYST_SERVER_KEY')
    .describe('Environment variable (or .env entry) holding your server API key (read scope).'),
  signing_key_fingerprint: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9_-]{43}$/)
    .optional()
    .describe(
      'Optional: the server signing key fingerprint you expect (SHA256:<thumbprint>). When absent the key is pinned on first `check`/`run` and stored in the journal; a different key later is refused.',
    ),
  start_from: z
    .enum(['head', 'all'])
    .default('head')
    .describe(
      'A fresh installation (no cursor) starts at the live head (head) or replays everything retained (all).',
    ),
  heartbeat_misses: z
    .int()
    .min(1)
    .default(2)
    .describe('Reconnect after this many heartbeat intervals without any frame from the server.'),
  max_clock_skew_ms: z
    .int()
    .min(0)
    .default(2000)
    .describe(
      '`check` and `run` refuse to trade when the local clock differs from the server by more than this.',
    ),
  reconnect: ReconnectSchema.prefault({}),
});

/** server.url and server.urls, checked together, become one list: `url` is the first (what one server uses). */
export const ServerSchema = ServerFields.superRefine((s, ctx) => {
  if (s.url !== undefined && s.urls !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['urls'],
      message: 'give server.url (one server) or server.urls (a cluster), not both',
    });
  if (s.urls && new Set(s.urls.map((u) => new URL(u).href)).size !== s.urls.length)
    ctx.addIssue({ code: 'custom', path: ['urls'], message: 'the same URL is listed twice' });
}).transform((s) => {
  const urls = s.urls ?? [s.url ?? DEFAULT_SERVER_URL];
  return { ...s, url: urls[0]!, urls };
});

export const MarketDefaultsSchema = z
  .strictObject({
    amount_step: positive().default(0.000001).describe('Amount step used when the market is unknown.'),
    price_step: positive().default(0.00000001).describe('Price step used when the market is unknown.'),
    min_amount: nonNeg().default(0).describe('Minimum amount used when the market is unknown.'),
    min_cost: nonNeg().default(5).describe('Minimum order value (quote) used when the market is unknown.'),
  })
  .describe('Market rules assumed in paper mode when the exchange markets cannot be loaded (offline).');

/** What the venue trades; separate from the mode (paper | live). */
export const VENUES = ['crypto_spot', 'us_equity'] as const;
export type VenueKind = (typeof VENUES)[number];

const symbolMap = () =>
  z
    .record(z.string(), z.string())
    .default({})
    .describe(
      'Explicit signal symbol -> exchange market, e.g. { "XBT": "BTC/USD" } or { "BRK.B": "BRK.B" }. Wins over the default mapping, and is the only way a pair quoted in another currency than exchange.quote trades (its caps then count in that currency).',
    );
const timeoutMs = () =>
  z
    .int()
    .min(100)
    .default(10_000)
    .describe('ccxt request timeout. A timed-out order is reconciled, never blindly retried.');
const loadMarketsTimeoutMs = () =>
  z
    .int()
    .min(100)
    .default(15_000)
    .describe('Give up loading markets after this long (paper mode then uses defaults).');

export const CryptoSpotExchangeSchema = z.strictObject({
  venue: z
    .literal('crypto_spot')
    .default('crypto_spot')
    .describe(
      'What is traded: crypto_spot (a ccxt spot exchange; the default, and what a config without venue means) or us_equity (US stocks on Alpaca). exchange.alpaca.* applies to us_equity only; sandbox, *_env, base_url and market_defaults to crypto_spot only.',
    ),
  id: z
    .string()
    .regex(/^[a-z0-9]+$/)
    .optional()
    .describe(
      'ccxt exchange id, e.g. binance, kraken, coinbase. Absent: paper mode uses signal prices only.',
    ),
  sandbox: z
    .boolean()
    .default(false)
    .describe("Use the exchange's testnet through ccxt setSandboxMode, where one exists."),
  api_key_env: envName()
    .default('CATALYST_EXCHANGE_API_KEY')
    .describe('Environment variable holding the exchange API key.'),
  secret_env: envName()
    .default('CATALYST_EXCHANGE_SECRET')
    .describe('Environment variable holding the exchange secret.'),
  password_env: envName()
    .default('CATALYST_EXCHANGE_PASSWORD')
    .describe('Environment variable holding the exchange passphrase (only some exchanges need one).'),
  quote: z
    .string()
    .min(1)
    .default('USDT')
    .describe('Quote currency: a signal for BTC trades BTC/<quote> by default.'),
  symbol_map: symbolMap(),
  timeout_ms: timeoutMs(),
  base_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'Advanced (tests, emulators): send every exchange API request to this base URL instead of the real hosts.',
    ),
  load_markets_timeout_ms: loadMarketsTimeoutMs(),
  order_poll_ms: z
    .number()
    .int()
    .min(1000)
    .max(300_000)
    .default(5000)
    .describe(
      "Live only, for an exchange whose ccxt class cannot stream your orders (no watchOrders/watchMyTrades): how often its orders and trades are read back over REST to follow fills made at the exchange. Exchanges that stream (Binance's user-data stream) are followed as events happen and read back every 60 s and on every reconnect regardless. Each poll costs 2 requests per market held or with an open order, plus one per order that filled.",
    ),
  market_defaults: MarketDefaultsSchema.prefault({}),
});

export const UsEquityExchangeSchema = z.strictObject({
  venue: z.literal('us_equity'),
  id: z.literal('alpaca').default('alpaca').describe('[us_equity] The broker: alpaca (through ccxt).'),
  quote: z.literal('USD').default('USD').describe('[us_equity] Equities are priced in USD.'),
  symbol_map: symbolMap(),
  timeout_ms: timeoutMs(),
  load_markets_timeout_ms: loadMarketsTimeoutMs(),
  alpaca: AlpacaSchema.prefault({}),
});

/** The exchange block, by venue; a config without `venue` is crypto_spot, exactly what it meant before. */
export const ExchangeSchema = z.discriminatedUnion('venue', [
  CryptoSpotExchangeSchema,
  UsEquityExchangeSchema,
]);
export type ExchangeConfig = z.output<typeof ExchangeSchema>;

export const FiltersSchema = z.strictObject({
  symbols_allow: z
    .array(z.string())
    .default([])
    .describe('Only these signal symbols are traded (empty: all).'),
  symbols_deny: z.array(z.string()).default([]).describe('Never trade these signal symbols.'),
  catalysts: z.array(z.string()).default([]).describe('Only these catalyst kinds (empty: all).'),
  directions: z
    .array(z.enum(DIRECTIONS))
    .default(['long', 'short'])
    .describe('Directions acted on; neutral is never traded.'),
  min_confidence: z
    .number()
    .min(0)
    .max(1)
    .default(0.6)
    .describe('Skip signals below this classifier confidence.'),
  max_signal_age_ms: z
    .int()
    .min(0)
    .default(60_000)
    .describe('Skip (skipped:stale) a signal older than this when it is decided (age from ingested_at).'),
  max_price_drift_pct: nonNeg()
    .optional()
    .describe(
      'Skip when the current ticker differs from the signal price by more than this percent (needs a ticker).',
    ),
});

export const SizingSchema = z.strictObject({
  mode: z
    .enum(['fixed_quote', 'equity_pct', 'risk_pct'])
    .default('fixed_quote')
    .describe(
      'fixed_quote: a fixed quote amount; equity_pct: percent of equity; risk_pct: lose at most risk_pct of equity at the stop.',
    ),
  fixed_quote: positive().default(25).describe('Order value for fixed_quote (quote currency).'),
  equity_pct: z.number().gt(0).max(100).default(2).describe('Percent of equity per trade for equity_pct.'),
  risk_pct: z
    .number()
    .gt(0)
    .max(100)
    .default(0.5)
    .describe('Percent of equity risked per trade for risk_pct.'),
  default_stop_pct: z
    .number()
    .gt(0)
    .max(100)
    .default(5)
    .describe('Stop distance (percent of price) when the signal has no usable stop_loss.'),
  confidence_scaling: z.boolean().default(false).describe('Multiply the size by the signal confidence.'),
  max_quote_per_trade: positive().default(100).describe('Hard cap of one order value (quote).'),
  below_minimum: z
    .enum(['skip', 'raise'])
    .default('skip')
    .describe(
      'When the size is below the exchange minimum: skip, or raise it to the minimum (never above raise_cap_quote).',
    ),
  raise_cap_quote: positive()
    .default(15)
    .describe('raise never makes an order worth more than this (quote).'),
});

export const RiskSchema = z.strictObject({
  max_open_positions: z.int().min(0).default(5).describe('No new position when this many are open.'),
  max_exposure_per_symbol_quote: nonNeg()
    .default(200)
    .describe('Cost of one symbol position (quote) never exceeds this.'),
  max_total_exposure_quote: nonNeg()
    .default(500)
    .describe('Cost of all positions (quote) never exceeds this.'),
  max_daily_loss_quote: nonNeg()
    .default(50)
    .describe(
      'Stop opening positions for the day once realized loss incl. fees reaches this (the UTC day on crypto_spot, the New York day on us_equity).',
    ),
  max_orders_per_day: z
    .int()
    .min(0)
    .default(20)
    .describe('Orders sent per day, all kinds (the UTC day on crypto_spot, the New York day on us_equity).'),
  cooldown_per_symbol_ms: z
    .int()
    .min(0)
    .default(15 * 60_000)
    .describe(
      'Minimum time between two entries in the same symbol (exits and protective orders do not count); 0 disables it.',
    ),
  exit_block_ms: z
    .int()
    .min(0)
    .default(7 * 24 * 3_600_000)
    .describe(
      'An exit signal (going concern, delisting, bankruptcy, fraud: any action exit) blocks entries in its symbol for this long, whether or not anything was sold. Default 7 days, longer than the 24 h avoid window: an exit is about the company itself, whose news plays out over days (a follow-up headline on day 2 should not buy back in), and a week covers the next trading week even across a holiday weekend.',
    ),
  short_on_spot: z
    .enum(['skip', 'sell_holdings'])
    .default('skip')
    .describe(
      'A short signal on a spot account: skip, or sell the position this client holds in that symbol.',
    ),
});

export const ExecutionSchema = z.strictObject({
  order_type: z.enum(['market', 'limit']).default('market').describe('Entry order type.'),
  limit_offset_pct: nonNeg()
    .default(0.1)
    .describe('limit orders: buy this percent above (sell below) the reference price.'),
  stop_loss_pct: z
    .number()
    .gt(0)
    .max(100)
    .optional()
    .describe('Stop-loss trigger this percent below the entry price when the signal has no stop_loss.'),
  take_profit_pct: z
    .number()
    .gt(0)
    .optional()
    .describe('Take-profit trigger this percent above the entry price when the signal has no take_profit.'),
  protective_orders: z
    .enum(['off', 'stop_loss', 'take_profit'])
    .default('off')
    .describe(
      'After an entry fills, place ONE protective sell of the filled amount (spot balances cannot back both without OCO): a stop-loss-limit or take-profit-limit at the signal/config price. Paper mode records it without simulating its trigger.',
    ),
  protective_limit_offset_pct: nonNeg()
    .default(0.5)
    .describe(
      'Limit price of a protective order this percent below its trigger, so a fast market still fills it.',
    ),
  max_send_attempts: z
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe('Attempts per order, each after reconciling by clientOrderId.'),
  resend_window_ms: z
    .int()
    .min(0)
    .default(120_000)
    .describe(
      'On restart, an intent never seen by the exchange is sent only if decided less than this long ago.',
    ),
  client_order_id_max_len: z
    .int()
    .min(16)
    .max(64)
    .default(36)
    .describe('Length limit of clientOrderId on this exchange (Binance: 36).'),
});

export const PaperSchema = z.strictObject({
  starting_balance_quote: positive()
    .default(1000)
    .describe('Simulated quote balance of a new paper journal.'),
  fee_rate: nonNeg().max(0.1).default(0.001).describe('Simulated taker fee, fraction of order value.'),
  slippage_pct: nonNeg().default(0.05).describe('Simulated slippage against you, percent of price.'),
  use_exchange_ticker: z
    .boolean()
    .default(true)
    .describe(
      'Fill at the exchange ticker when an exchange is configured and reachable; else at the signal price.',
    ),
  prices: z
    .enum(['signal', 'walk', 'alpaca'])
    .default('signal')
    .describe(
      "Where paper fills find prices between signals (resting limits, stops, bracket legs): signal (the latest signal's price, unchanging), walk (a seeded random walk around each signal's price: offline demos), alpaca (the broker's latest quotes with your own Alpaca data keys, exchange.alpaca.*_env; us_equity only).",
    ),
  walk: z
    .strictObject({
      seed: z.int().default(1).describe('Seed of the random walk: the same seed gives the same price path.'),
      volatility_pct_per_min: nonNeg()
        .max(50)
        .default(0.4)
        .describe('Standard deviation of the walk per market minute, percent of price.'),
      reversion_per_min: nonNeg()
        .max(1)
        .default(0.05)
        .describe(
          "How strongly the walk is pulled back to the signal's price per market minute (0: a free walk).",
        ),
    })
    .prefault({})
    .describe('paper.prices walk: the simulated price path.'),
  tick_ms: z
    .int()
    .min(50)
    .max(600_000)
    .default(1000)
    .describe(
      'How often (real ms) `run` takes a paper price step and applies the fill rules to resting orders (alpaca prices: one quotes request per step).',
    ),
  market_clock: z
    .strictObject({
      start: z.iso
        .datetime({ offset: true })
        .describe(
          "Offline us_equity paper only (demos, rehearsals): a simulated market clock reading this market time (ISO 8601 with an offset, e.g. 2026-11-23T09:29:00-05:00) when the client starts; market time = start + (now - client start) x speed. It decides the trading session only (pre-market, regular, after-hours, closed); signal age, cooldowns and daily limits stay on real time. The open's work (held signals, protection due at the open) and paper DAY expiry follow it too. Refused in live mode (the broker's clock decides) and on crypto_spot.",
        ),
      speed: positive()
        .max(100_000)
        .default(1)
        .describe('Market seconds per real second (30: the simulated market runs 30 times as fast).'),
    })
    .optional()
    .describe(
      "Offline us_equity paper only (demos, rehearsals): a simulated market clock, market time = start + (now - client start) x speed, used ONLY for the trading session (pre-market, regular, after-hours, closed). Signal age, cooldowns and daily limits stay on real time. Refused in live mode, where the broker's clock decides.",
    ),
});

export const DashboardSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe('Also serve the local dashboard while `run` runs (same as `run --dashboard`).'),
    host: z
      .string()
      .min(1)
      .max(253)
      .default('127.0.0.1')
      .describe(
        'Address the dashboard listens on. Loopback only (127.0.0.1, ::1, localhost) unless password_env names a set, non-empty password: beyond loopback the dashboard is refused to start without one.',
      ),
    port: z
      .int()
      .min(0)
      .max(65535)
      .default(0)
      .describe('TCP port; 0 = a random free port each start (the printed URL says which).'),
    password_env: envName()
      .default('CATALYST_DASHBOARD_PASSWORD')
      .describe(
        'Environment variable (or .env entry) holding the password needed when host is not loopback (at least 12 characters; beyond loopback put TLS in front, docs/security.md); only its scrypt hash is kept in memory.',
      ),
    poll_ms: z
      .int()
      .min(10)
      .max(5000)
      .default(50)
      .describe(
        'How often the dashboard asks the journal whether anything changed (PRAGMA data_version, a cheap read).',
      ),
  })
  .describe('The local dashboard (catalyst-client dashboard).');

/** A vkey of an Ed25519 cosigner (type 0x04) whose key ID matches: checked here so a typo is a config error. */
function isWitnessVkey(vkey: string): boolean {
  try {
    parseVerifierKey(
      (d) => new Uint8Array(createHash('sha256').update(d).digest()),
      vkey,
      COSIGNATURE_V1_TYPE,
    );
    return true;
  } catch {
    return false;
  }
}
export const ApprovalSchema = z
  .strictObject({
    mode: z
      .enum(['off', 'required', 'above_notional'])
      .default('off')
      .describe(
        'Ask before each entry: off = never; required = every entry; above_notional = entries worth more than above_notional (quote). An entry that needs approval passes every filter and limit, is journaled as deferred:pending_approval and placed only when approved (dashboard, or an ntfy action) within timeout_ms, after every filter and limit is checked again. Exits are never held.',
      ),
    above_notional: z
      .number()
      .positive()
      .optional()
      .describe('With mode above_notional: entries worth more than this (quote, e.g. USD) need approval.'),
    catalysts: z
      .array(z.string().min(1).max(64))
      .max(100)
      .optional()
      .describe('Only entries on these catalyst kinds need approval (absent: every catalyst).'),
    timeout_ms: z
      .int()
      .min(1000)
      .max(86_400_000)
      .default(120_000)
      .describe(
        'How long an entry waits for approval from its decision; past it (a restart included) it is skipped:approval_expired.',
      ),
    ntfy_url: z
      .string()
      .min(1)
      .max(2000)
      .optional()
      .describe(
        'An ntfy topic for answers (ntfy://host/topic or ntfys://, ${VAR} allowed, like notify urls; use a topic nobody guesses): ntfy approval_requested messages get Approve / Reject buttons that publish a one-time signed token there, and `run` subscribes to it (an outgoing connection, no inbound port).',
      ),
  })
  .superRefine((a, ctx) => {
    if (a.mode === 'above_notional' && a.above_notional === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['above_notional'],
        message: 'mode above_notional needs an amount',
      });
  })
  .describe('Approval mode: entries wait for the friend to approve them (docs/client.md, "Approval").');

export const LogSchema = z
  .strictObject({
    verify: z
      .enum(['auto', 'on', 'off'])
      .default('auto')
      .describe(
        "Prove every signal in the server's transparency log before applying it (docs/transparency-log.md): auto = when the server serves GET /v1/log/checkpoint (a server without a log: off, with a warning), on = required (a server without a log stops trading), off = per-signal signatures only.",
      ),
    max_proof_wait_ms: z
      .int()
      .min(100)
      .max(600_000)
      .default(5000)
      .describe(
        "How long a signal may wait for a signed checkpoint covering it and its inclusion proof; past that trading stops (exit 3) rather than apply an unproven signal. Well above the server's log.checkpoint_interval_ms (default 500).",
      ),
    gossip_interval_ms: z
      .int()
      .min(0)
      .max(86_400_000)
      .default(60_000)
      .describe(
        "With several gateways (server.urls): how often every gateway's checkpoint is fetched and compared (also once at start, before the first signal is applied); same size with another root, or a smaller one not proven a prefix of a larger, halts trading (exit 7) with an evidence file. 0 = off.",
      ),
    witness: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Cosign (C2SP tlog-cosignature/v1) each checkpoint this client verified as consistent with everything it saw, and send the cosignature to the server over the stream (no inbound port). Needs log.verify on/auto and a server that lists this key in its log.witnesses (`catalyst-client log witness-key` prints it).',
          ),
        key_file: z
          .string()
          .min(1)
          .default('witness-key.pem')
          .describe(
            'The witness Ed25519 private key (PEM), relative to data_dir; generated there (mode 0600) on first use.',
          ),
        name: z
          .string()
          .regex(/^[^\s+]+$/, 'a key name: no spaces, no +')
          .max(200)
          .optional()
          .describe('The witness key name (part of its key ID); default witness.<hostname>.'),
      })
      .prefault({})
      .describe('This client as a witness of the server log (docs/transparency-log.md "Witnesses").'),
    witness_policy: z
      .strictObject({
        keys: z
          .array(
            z
              .string()
              .min(1)
              .max(400)
              .refine(isWitnessVkey, 'not a witness verifier key (<name>+<hex id>+<base64>, type 0x04)'),
          )
          .min(1)
          .max(64)
          .describe(
            'Witness verifier keys (`<name>+<hex id>+<base64>`, type 0x04) whose cosignatures count, as each witness prints them with `catalyst-client log witness-key`.',
          ),
        quorum: z.int().min(1).describe('How many of `keys` must cosign (k of n).'),
        within_ms: z
          .int()
          .min(1000)
          .max(86_400_000)
          .default(60_000)
          .describe(
            'How long after this client acted on a checkpoint the quorum may take to cosign it (or a later, consistent one) before the alert.',
          ),
      })
      .refine((p) => p.quorum <= p.keys.length, { message: 'quorum is more than the number of keys' })
      .optional()
      .describe(
        'Require the checkpoints this client acts on to be cosigned by a quorum of witnesses (C2SP tlog-policy style); when they are not: an alert (notification, status, log line), never a halt, until the quorum is back.',
      ),
  })
  .refine((l) => l.verify !== 'off' || (!l.witness.enabled && !l.witness_policy), {
    message:
      'log.witness and log.witness_policy need log.verify auto or on (a witness cosigns what it verified)',
  })
  .describe('Transparency-log verification (`catalyst-client log ...`).');

export const ConfigSchema = z
  .strictObject({
    mode: z
      .enum(['paper', 'live'])
      .default('paper')
      .describe('live trades real money, and only together with `run --live`.'),
    data_dir: z
      .string()
      .min(1)
      .default('./catalyst-client-data')
      .describe('Directory of the journal (SQLite), relative to the config file.'),
    log_level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      .default('info')
      .describe('pino log level.'),
    server: ServerSchema.prefault({}),
    exchange: ExchangeSchema.prefault({}),
    filters: FiltersSchema.prefault({}),
    sizing: SizingSchema.prefault({}),
    risk: RiskSchema.prefault({}),
    execution: ExecutionSchema.prefault({}),
    paper: PaperSchema.prefault({}),
    equities: EquitiesSchema.prefault({}),
    dashboard: DashboardSchema.prefault({}),
    approval: ApprovalSchema.prefault({}),
    notify: NotifySchema,
    notify_options: NotifyOptionsSchema.prefault({}),
    log: LogSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    // Cross-field rules, reported together with field errors.
    if (c.mode === 'live' && c.exchange.venue === 'crypto_spot' && !c.exchange.id) {
      ctx.addIssue({ code: 'custom', path: ['exchange', 'id'], message: 'live mode needs an exchange id' });
    }
    if (c.paper.market_clock) {
      const why =
        c.mode === 'live'
          ? "a live client must use the broker's clock (remove paper.market_clock or use mode: paper)"
          : c.exchange.venue !== 'us_equity'
            ? 'only us_equity has trading sessions (exchange.venue: us_equity)'
            : undefined;
      if (why) ctx.addIssue({ code: 'custom', path: ['paper', 'market_clock'], message: why });
    }
    if (c.paper.prices === 'alpaca' && c.exchange.venue !== 'us_equity')
      ctx.addIssue({
        code: 'custom',
        path: ['paper', 'prices'],
        message:
          'alpaca prices are US stock quotes: use exchange.venue us_equity (crypto paper uses exchange.id)',
      });
    const deny = new Set(c.filters.symbols_deny.map((s) => s.toUpperCase()));
    for (const s of c.filters.symbols_allow) {
      if (deny.has(s.toUpperCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['filters', 'symbols_allow'],
          message: `${s} is both allowed and denied`,
        });
      }
    }
    if (c.exchange.venue === 'us_equity' && c.execution.protective_orders !== 'off') {
      // Equities protect through brackets and the open's OCO pair; a second, spot-style protective sell of the
      // same shares would be an extra order (and Alpaca holds the shares for the first one).
      ctx.addIssue({
        code: 'custom',
        path: ['execution', 'protective_orders'],
        message:
          'crypto spot only: us_equity protects with brackets and an OCO pair at the open (set it to off)',
      });
    }
    if (c.equities.max_price < c.equities.min_price) {
      ctx.addIssue({ code: 'custom', path: ['equities', 'max_price'], message: 'smaller than min_price' });
    }
    if (c.server.reconnect.max_delay_ms < c.server.reconnect.initial_delay_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['server', 'reconnect', 'max_delay_ms'],
        message: 'smaller than initial_delay_ms',
      });
    }
  });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

// Defined with the other exit-coded errors, so the CLI maps it without loading zod and the schema.
export { ConfigError };

/** Validate raw (parsed YAML) config; throws ConfigError listing every problem at once. */
export function parseConfig(raw: unknown): Config {
  const r = ConfigSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  throw new ConfigError(r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
}

/** Secrets, read from the environment only (after `.env` was loaded by the CLI). */
export interface Secrets {
  serverKey: string | undefined;
  /** Needed only for a dashboard bound beyond loopback. */
  dashboardPassword?: string | undefined;
  exchangeApiKey: string | undefined;
  exchangeSecret: string | undefined;
  exchangePassword: string | undefined;
}

export function readSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): Secrets {
  const get = (name: string | undefined) =>
    name && env[name] && env[name]!.length > 0 ? env[name] : undefined;
  const names = exchangeKeyEnvs(config.exchange);
  return {
    serverKey: get(config.server.key_env),
    dashboardPassword: get(config.dashboard.password_env),
    exchangeApiKey: get(names.apiKey),
    exchangeSecret: get(names.secret),
    exchangePassword: get(names.password),
  };
}

/** Names of the environment variables holding the exchange credentials, per venue. */
export function exchangeKeyEnvs(x: ExchangeConfig): {
  apiKey: string;
  secret: string;
  password?: string | undefined;
} {
  return x.venue === 'us_equity'
    ? { apiKey: x.alpaca.api_key_env, secret: x.alpaca.secret_env }
    : { apiKey: x.api_key_env, secret: x.secret_env, password: x.password_env };
}

/** The config reference as a Markdown table, generated from ConfigSchema (docs/client.md). */
export function renderConfigReference(): string {
  return renderReference(ConfigSchema);
}
