import { z } from 'zod';

/**
 * Config schemas of the us_equity venue (US stocks on Alpaca through ccxt's alpaca class): where the account is,
 * and the per-user trading policy the pure equity rules (decide/sessions.ts, decide/equity-plan.ts) apply.
 * Part of the one ConfigSchema in config.ts; kept here so each file stays one concern.
 */

const envName = () => z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name');
const nonNeg = () => z.number().min(0);

export const AlpacaSchema = z
  .strictObject({
    endpoint: z
      .enum(['paper', 'live'])
      .default('paper')
      .describe(
        "Alpaca account: paper (paper-api.alpaca.markets, Alpaca's simulated account) or live (api.alpaca.markets, real money). Independent of `mode`: in mode paper nothing is ever sent.",
      ),
    api_key_env: envName()
      .default('APCA_API_KEY_ID')
      .describe('Environment variable holding the Alpaca key id (header APCA-API-KEY-ID).'),
    secret_env: envName()
      .default('APCA_API_SECRET_KEY')
      .describe('Environment variable holding the Alpaca secret key.'),
    feed: z
      .enum(['iex', 'sip'])
      .default('iex')
      .describe(
        'Market data feed for quotes: iex (free, thin for penny stocks) or sip (needs a paid Alpaca data plan).',
      ),
    base_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'Advanced (tests, emulators): send every Alpaca request (trading and market data) to this base URL.',
      ),
  })
  .describe('Alpaca account and data settings (venue us_equity).');

export const EquitiesSchema = z
  .strictObject({
    session_policy: z
      .enum(['regular_only', 'extended', 'hold_until_open'])
      .default('regular_only')
      .describe(
        'regular_only: enter only 09:30-16:00 ET; extended: also pre-market 04:00 and after-hours to 20:00 (limit orders only); hold_until_open: hold an entry that arrives outside regular hours and decide it again (every filter and limit) at the regular open, if it is still within its hold age then (equities.hold_max_age_ms, or the expires_at of the signal).',
      ),
    hold_max_age_ms: z
      .int()
      .min(0)
      .default(18 * 3_600_000)
      .describe(
        "hold_until_open: the longest a held entry may wait for the open, from the signal's ingestion (an expires_at on the signal wins). The default, 18 h, carries an after-hours signal over one night, never over a weekend or holiday; past it the signal is journaled skipped:open_too_late.",
      ),
    extended_time_in_force: z
      .enum(['day', 'gtc'])
      .default('day')
      .describe('Time in force of extended-hours limit orders (Alpaca allows day or gtc there).'),
    limit_slippage_pct: nonNeg()
      .max(50)
      .default(1)
      .describe(
        'Limit orders (always in extended hours; in regular hours with regular_order_type limit): buy at most this percent above the reference price, sell at most this percent below.',
      ),
    reprice_after_ms: z
      .int()
      .min(1000)
      .default(60_000)
      .describe(
        'Working orders (with max_reprices above 0): an extended-hours limit entry not filled after this long is replaced (Alpaca replace, not cancel + new) toward the quote, never beyond limit_slippage_pct from the signal price; again after each such wait, up to max_reprices times, then cancelled after one more wait.',
      ),
    max_reprices: z
      .int()
      .min(0)
      .max(20)
      .default(0)
      .describe(
        'Working orders: at most this many replaces of one extended-hours limit entry before it is cancelled. 0 (default): the limit is placed at the limit_slippage_pct bound and rests until it fills or expires; above 0 it starts at the signal price and is replaced toward the quote, never beyond that bound.',
      ),
    regular_order_type: z
      .enum(['market', 'limit'])
      .default('market')
      .describe(
        'Regular-session entry type. market: a GTC bracket (entry + take-profit + stop-loss) when the signal or config gives both levels; limit: a DAY limit whose stop/target are placed as a GTC exit once it fills.',
      ),
    min_price: nonNeg().default(0.1).describe('Skip (skipped:price_band) a symbol priced below this (USD).'),
    max_price: nonNeg()
      .default(10_000)
      .describe('Skip (skipped:price_band) a symbol priced above this (USD).'),
    max_spread_pct: nonNeg()
      .optional()
      .describe(
        'Skip (skipped:spread) when the latest quote spread (ask-bid)/mid exceeds this percent. Absent: no check.',
      ),
    allow_short: z
      .boolean()
      .default(false)
      .describe(
        'Short entries (needs a margin account and a shortable asset); off: short signals are skipped.',
      ),
    fractional: z
      .boolean()
      .default(false)
      .describe(
        'Fractional shares on fractionable assets (regular session, simple DAY orders only); off: whole shares.',
      ),
    outside_positions: z
      .enum(['ignore', 'count_toward_exposure', 'adopt'])
      .default('ignore')
      .describe(
        "Positions in the account that this client did not open: ignore them, count their cost toward the exposure caps, or adopt them at start as this client's own (journaled at the broker's average entry: counted in exposure, sold by exit signals, reconciled; once, a restart does not adopt again). Live us_equity.",
      ),
    avoid_window_ms: z
      .int()
      .min(0)
      .default(24 * 3_600_000)
      .describe('An avoid signal blocks entries in its symbol for this long.'),
    avoid_exits: z
      .boolean()
      .default(false)
      .describe('An avoid signal also sells what this client holds in the symbol.'),
    exits_while_paused: z
      .boolean()
      .default(true)
      .describe(
        'Exit signals still sell while entries are paused (kill switch); off: a pause stops exits too.',
      ),
    max_round_trips_per_day: z
      .int()
      .min(0)
      .optional()
      .describe(
        'Your own limit of same-day round trips (buy and sell of one symbol on one ET day). No PDT rule is built in (FINRA retired it in 2026).',
      ),
    max_round_trips_per_week: z
      .int()
      .min(0)
      .optional()
      .describe('Your own limit of round trips over the last 5 ET trading days.'),
  })
  .describe('US equity trading policy (used when exchange.venue is us_equity).');

export type EquitiesConfig = z.output<typeof EquitiesSchema>;
export type AlpacaConfig = z.output<typeof AlpacaSchema>;
