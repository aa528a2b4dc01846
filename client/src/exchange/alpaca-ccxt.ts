import type * as CcxtNs from 'ccxt';
import type { Config, Secrets } from '../config.js';
import { loadCcxt } from './ccxt.js';

/**
 * Builds the REAL ccxt.alpaca instance for US equities (facts: shared notes/ccxt-alpaca.md):
 * - every URL family (trader, market, broker; api and test) points at base_url when one is configured;
 * - markets are us_equity assets, with the precision ccxt leaves empty added inside fetchMarkets (patching
 *   ex.markets afterwards would leave markets_by_id stale);
 * - GET v2/orders:by_client_order_id is defined (absent in ccxt 4.5.84);
 * - every HTTP error is tagged with its status, method, path and Alpaca code, because ccxt's classes alone
 *   cannot tell a definitive 403 refusal (ExchangeNotAvailable, a NetworkError) from an outage.
 */

type Ccxt = typeof CcxtNs;
export type CcxtExchange = InstanceType<Ccxt['Exchange']>;

export interface HttpFailure {
  status: number;
  method: string;
  path: string;
  /** Alpaca's numeric error code (40310000, 42210000...), when the body had one. */
  code: number | undefined;
  message: string | undefined;
}

const failures = new WeakMap<object, HttpFailure>();
/** The HTTP reply behind a ccxt error; undefined when there was none (timeout, socket, local check). */
export function httpFailure(e: unknown): HttpFailure | undefined {
  return e && typeof e === 'object' ? failures.get(e) : undefined;
}

function tag(e: unknown, status: number, method: string, url: string, body: unknown): void {
  if (!e || typeof e !== 'object' || failures.has(e)) return;
  let parsed: Record<string, unknown> = {};
  try {
    const p = JSON.parse(String(body ?? '')) as unknown;
    if (p && typeof p === 'object') parsed = p as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page): status alone decides.
  }
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // keep the raw url
  }
  const code = Number(parsed['code']);
  failures.set(e, {
    status,
    method: method.toUpperCase(),
    path,
    code: Number.isFinite(code) ? code : undefined,
    message: typeof parsed['message'] === 'string' ? parsed['message'] : undefined,
  });
}

export interface AlpacaCcxtOptions {
  config: Config;
  secrets?: Secrets | undefined;
  /** ccxt throttle between requests (Alpaca: 200 requests/min; ccxt default 333 ms). Tests lower it. */
  rateLimitMs?: number | undefined;
}

/**
 * How an instance spaces its requests. `paced`: ccxt's default leaky bucket, one request per rateLimit; it
 * credits no idle time (tokens refill only while requests wait), so every request after the first waits a full
 * 333 ms, however long the instance was idle. `window`: ccxt's rolling window, at most 60 s / rateLimit requests in
 * any 60 s, each sent at once while the window has room: what orders and quotes need to leave in milliseconds.
 */
export type Throttle = { kind: 'paced' } | { kind: 'window'; perMinute: number };

const URL_FAMILIES = ['trader', 'market', 'broker'] as const;

export async function createAlpacaCcxt(
  opts: AlpacaCcxtOptions,
  throttle: Throttle = { kind: 'paced' },
): Promise<CcxtExchange> {
  const ccxt = await loadCcxt();
  const Ctor = (ccxt as unknown as Record<string, new (o: object) => CcxtExchange>)['alpaca'];
  if (typeof Ctor !== 'function') throw new Error('this ccxt has no alpaca class');
  const { config, secrets } = opts;
  // us_equity says where the account is in its alpaca block; a crypto_spot block naming alpaca (tests, older
  // configs) keeps meaning sandbox + base_url.
  const x = config.exchange;
  const sandbox = x.venue === 'us_equity' ? x.alpaca.endpoint === 'paper' : x.sandbox;
  const baseUrl = x.venue === 'us_equity' ? x.alpaca.base_url : x.base_url;
  const ex = new Ctor({
    apiKey: secrets?.exchangeApiKey,
    secret: secrets?.exchangeSecret,
    timeout: config.exchange.timeout_ms,
    enableRateLimit: true,
    ...(throttle.kind === 'window'
      ? {
          rateLimiterAlgorithm: 'rollingWindow',
          rollingWindowSize: 60_000,
          // Never faster than ccxt's own 333 ms on average: the window only stops idle time being wasted.
          rateLimit: Math.min(opts.rateLimitMs ?? Infinity, Math.max(333, 60_000 / throttle.perMinute)),
        }
      : opts.rateLimitMs !== undefined
        ? { rateLimit: opts.rateLimitMs }
        : {}),
  });
  if (sandbox) ex.setSandboxMode(true); // paper-api; market data stays on data.alpaca.markets
  if (baseUrl) {
    const base = baseUrl.replace(/\/$/, '');
    const urls = ex.urls as unknown as Record<string, Record<string, string>>;
    // Both families: setSandboxMode copies test over api, so an override must survive either order.
    for (const fam of ['api', 'test']) {
      urls[fam] = { ...urls[fam] };
      for (const k of URL_FAMILIES) urls[fam]![k] = base;
    }
  }

  const loose = ex as unknown as Record<string, unknown>;
  const fetchMarkets = (loose['fetchMarkets'] as (p?: object) => Promise<Record<string, unknown>[]>).bind(ex);
  loose['fetchMarkets'] = async (params: object = {}) =>
    (await fetchMarkets({ asset_class: 'us_equity', ...params })).map(withPrecision);

  ex.defineRestApi({ trader: { private: { get: { 'v2/orders:by_client_order_id': 1 } } } }, 'request');

  type Handler = (...a: unknown[]) => unknown;
  const handleErrors = (loose['handleErrors'] as Handler).bind(ex);
  loose['handleErrors'] = (...a: unknown[]) => {
    try {
      return handleErrors(...a);
    } catch (e) {
      tag(e, a[0] as number, a[3] as string, a[2] as string, a[5]);
      throw e;
    }
  };
  const handleHttpStatusCode = (loose['handleHttpStatusCode'] as Handler).bind(ex);
  loose['handleHttpStatusCode'] = (...a: unknown[]) => {
    try {
      return handleHttpStatusCode(...a);
    } catch (e) {
      tag(e, a[0] as number, a[3] as string, a[2] as string, a[4]);
      throw e;
    }
  };
  return ex;
}

/**
 * Equities carry no min_trade_increment/price_increment, and ccxt refuses to format an order without precision.
 * Amount: whole shares, or 1e-9 for fractionable assets. Price: 0.0001, the finest Alpaca tick; the adapter rounds
 * each price to its own tick (cents at or above $1) because ccxt knows only one tick per market.
 */
function withPrecision(m: Record<string, unknown>): Record<string, unknown> {
  const info = (m['info'] ?? {}) as Record<string, unknown>;
  if (info['class'] !== 'us_equity') return m;
  const step = info['fractionable'] === true ? 1e-9 : 1;
  const limits = (m['limits'] ?? {}) as Record<string, Record<string, unknown>>;
  return {
    ...m,
    active: m['active'] === true && info['tradable'] !== false,
    precision: { ...(m['precision'] as object), amount: step, price: 0.0001 },
    limits: { ...limits, amount: { ...limits['amount'], min: step } },
  };
}
