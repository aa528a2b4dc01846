import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SERVER_URL } from '../config.js';

/** `catalyst-client init`: a commented config with safe defaults (paper mode). Secrets go in the environment. */

/** `server:` lines: one URL as url, several (a cluster's gateways) as urls. */
function serverLines(urls: readonly string[]): string {
  if (urls.length === 1) return `  url: ${urls[0]}`;
  return `  urls:                            # gateways of one cluster: failover in this order\n${urls.map((u) => `    - ${u}`).join('\n')}`;
}

export function configTemplate(serverUrls: string | readonly string[]): string {
  const urls = typeof serverUrls === 'string' ? [serverUrls] : serverUrls;
  return `# Catalyst client configuration. Reference of every key: docs/client.md (generated from the schema).
# Secrets are NOT stored here. Put them in the environment or in a .env file next to this file:
#   CATALYST_SERVER_KEY=cat_...            your key for the signal server (read scope)
#   CATALYST_EXCHANGE_API_KEY=...          only for live trading (trade permission, NO withdrawals)
#   CATALYST_EXCHANGE_SECRET=...

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

exchange:
  # id: binance                    # any ccxt id; without one, paper mode fills at signal prices offline
  sandbox: false
  quote: USDT                      # signal BTC -> market BTC/USDT
  symbol_map: {}                   # e.g. { XBT: BTC/USD }

filters:
  symbols_allow: []                # empty = all
  symbols_deny: []
  catalysts: []                    # empty = all
  directions: [long, short]
  min_confidence: 0.6
  max_signal_age_ms: 60000         # older signals are skipped:stale
  # max_price_drift_pct: 2         # skip when the ticker moved this far from the signal price

sizing:
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
  short_on_spot: skip              # skip | sell_holdings

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
}): string {
  const path = resolve(opts.config);
  if (existsSync(path) && !opts.force) throw new Error(`${path} already exists (use --force to overwrite)`);
  writeFileSync(
    path,
    configTemplate(opts.server === undefined || opts.server.length === 0 ? DEFAULT_SERVER_URL : opts.server),
    { mode: 0o600 },
  );
  return path;
}
