import type { Config, Secrets } from '../config.js';
import { exchangeKeyEnvs } from '../config.js';
import { sessionAt } from '../decide/sessions.js';
import { accountBlockers } from '../exchange/account-guard.js';
import { ExchangeRejected } from '../exchange/types.js';

/**
 * `check` for venue us_equity: the Alpaca account behind the keys, read-only (account, clock, calendar; nothing is
 * ever ordered). Which endpoint (paper/live) the config names versus whether `--live` was given, keys accepted,
 * account standing, buying power, the session now and today's calendar entry. Secrets are never printed: a
 * refused key is reported by the NAME of its environment variable.
 */

export type CheckLine = { ok: boolean | 'warn'; what: string };

const HOSTS = { paper: 'paper-api.alpaca.markets', live: 'api.alpaca.markets' } as const;
const SESSION_WORDS = {
  pre: 'pre-market',
  regular: 'regular session',
  after: 'after-hours',
  closed: 'closed',
};

const nyFmt = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  weekday: 'short',
  hourCycle: 'h23',
});
/** Epoch ms -> { date: "2026-11-23", text: "Mon 2026-11-23 10:00 ET" } (New York, whatever the machine's zone). */
function ny(ms: number): { date: string; text: string } {
  const p = Object.fromEntries(nyFmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const date = `${p['year']}-${p['month']}-${p['day']}`;
  return { date, text: `${p['weekday']} ${date} ${p['hour']}:${p['minute']} ET` };
}
const addDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T12:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const usd = (x: number) => `$${x.toFixed(2)}`;

/**
 * Alpaca key ids start with PK (paper) or AK (live). Only a hint: a key is accepted or refused by the endpoint,
 * and this names the likely reason when it is refused.
 */
function keyKind(keyId: string | undefined): 'paper' | 'live' | undefined {
  if (keyId?.startsWith('PK')) return 'paper';
  if (keyId?.startsWith('AK')) return 'live';
  return undefined;
}

export async function checkAlpaca(opts: {
  config: Config;
  secrets: Secrets;
  /** `check --live`: checking for a live run. */
  live: boolean;
  /** Tests lower ccxt's 333 ms throttle. */
  rateLimitMs?: number | undefined;
}): Promise<CheckLine[]> {
  const { config, secrets } = opts;
  const x = config.exchange;
  if (x.venue !== 'us_equity') return [];
  const lines: CheckLine[] = [];
  const add = (ok: CheckLine['ok'], what: string) => void lines.push({ ok, what });
  const endpoint = x.alpaca.endpoint;
  // Live keys are required when this check is for a live run or the config says live.
  const needKeys = opts.live || config.mode === 'live';
  const where = `${HOSTS[endpoint]}${x.alpaca.base_url ? `, requests sent to ${x.alpaca.base_url}` : ''}`;

  // --- which account: paper unless live was meant ---
  if (endpoint === 'paper')
    add(
      opts.live ? 'warn' : true,
      opts.live
        ? `Alpaca endpoint is paper (${where}): --live orders go to Alpaca's PAPER account, no real money moves; set exchange.alpaca.endpoint: live for real money`
        : `Alpaca endpoint paper (${where}): Alpaca's simulated account, no real money`,
    );
  else
    add(
      opts.live ? true : 'warn',
      opts.live
        ? `Alpaca endpoint live (${where}): REAL MONEY`
        : `Alpaca endpoint is live (${where}, REAL MONEY) but this check was not run with --live: \`run\` without --live stays paper; run \`catalyst-client check --live\` before \`run --live\``,
    );

  const envs = exchangeKeyEnvs(x);
  if (!secrets.exchangeApiKey || !secrets.exchangeSecret) {
    const missing = [!secrets.exchangeApiKey && envs.apiKey, !secrets.exchangeSecret && envs.secret]
      .filter(Boolean)
      .join(' and ');
    add(
      needKeys ? false : 'warn',
      `Alpaca keys: ${missing} not set (environment or .env)${needKeys ? '' : '; an offline paper run needs none'}`,
    );
    return lines;
  }
  const kind = keyKind(secrets.exchangeApiKey);
  if (kind && kind !== endpoint)
    add(
      'warn',
      `Alpaca key id in ${envs.apiKey} starts with ${kind === 'paper' ? 'PK (a paper key)' : 'AK (a live key)'} but exchange.alpaca.endpoint is ${endpoint}`,
    );

  const { AlpacaAdapter } = await import('../exchange/alpaca.js');
  const ex = await AlpacaAdapter.create({ config, secrets, rateLimitMs: opts.rateLimitMs });
  try {
    let account;
    try {
      account = await ex.account();
    } catch (e) {
      if (e instanceof ExchangeRejected && e.code === 'auth') {
        const hint =
          kind && kind !== endpoint ? ` (a ${kind} key does not work on the ${endpoint} endpoint)` : '';
        add(
          false,
          `Alpaca keys refused by ${HOSTS[endpoint]}: check ${envs.apiKey} and ${envs.secret}${hint}; keys of a paper account work only with endpoint paper, live keys only with endpoint live`,
        );
      } else add(false, `Alpaca account not readable: ${(e as Error).message}`);
      return lines;
    }
    add(true, `Alpaca keys accepted (${envs.apiKey}, ${envs.secret})`);

    const blockers = accountBlockers(account);
    add(
      blockers.length === 0,
      blockers.length === 0
        ? `Alpaca account ${account.status}, not blocked`
        : `Alpaca account cannot trade: ${blockers.join(', ')}: refuse to start live on a blocked account`,
    );
    const margin =
      account.multiplier > 1 ? `margin account, multiplier ${account.multiplier}` : 'cash account';
    add(
      account.buyingPower > 0 ? true : 'warn',
      `buying power ${usd(account.buyingPower)} (what entries are sized and checked against; open buy orders already deducted), equity ${usd(account.equity)}, ${margin}, shorting ${account.shortingEnabled ? 'enabled' : 'disabled'}`,
    );
    if (account.patternDayTrader !== undefined || account.daytradeCount !== undefined)
      add(
        true,
        `account still reports pattern_day_trader ${String(account.patternDayTrader ?? '-')}, daytrade_count ${String(account.daytradeCount ?? '-')} (informational only; the client's own limits are equities.max_round_trips_per_day/week)`,
      );

    try {
      const clock = await ex.clock();
      const today = ny(clock.now).date;
      const days = await ex.calendar(today, addDays(today, 10));
      const s = sessionAt(clock.now, days, { is_open: clock.isOpen });
      add(
        true,
        `broker clock ${ny(clock.now).text}: ${SESSION_WORDS[s.kind]}; next open ${ny(clock.nextOpen).text}, next close ${ny(clock.nextClose).text}`,
      );
      const d = days.find((c) => c.date === today);
      add(
        true,
        d
          ? `calendar today ${d.date}: pre-market ${d.sessionOpen}, regular ${d.open}-${d.close}${d.close < '16:00' ? ' (early close)' : ''}, after-hours to ${d.sessionClose} ET`
          : `calendar today ${today}: no trading (weekend or market holiday)`,
      );
    } catch (e) {
      add(false, `Alpaca clock/calendar not readable: ${(e as Error).message}`);
    }
  } finally {
    await ex.close();
  }
  return lines;
}
