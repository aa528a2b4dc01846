import type * as CcxtNs from 'ccxt';
import type { Config, Secrets } from '../config.js';
import type { MarketInfo } from '../decide/index.js';
import { stepFrom } from './markets.js';
import {
  ExchangeRejected,
  ExchangeUncertain,
  type Balances,
  type ExchangeAdapter,
  type OrderRequest,
  type OrderState,
} from './types.js';

/**
 * Live exchange through ccxt. The ONLY module that imports ccxt, and only lazily (`await import`), because
 * loading it costs ~0.5 s and ~100 MB: `catalyst-client --help`, status, history never pay for it.
 */

type Ccxt = typeof CcxtNs;
type CcxtExchange = InstanceType<Ccxt['Exchange']>;

let ccxtModule: Promise<Ccxt> | undefined;
export function loadCcxt(): Promise<Ccxt> {
  ccxtModule ??= import('ccxt') as Promise<Ccxt>;
  return ccxtModule;
}

/**
 * Rewrite the host of every urls.api entry, keeping the path, so a stray call 404s locally instead of leaving.
 * WebSocket entries (ccxt.pro's urls.api.ws: the user-data stream) move too, to ws:// or wss:// as the base is
 * http or https: a private stream never dials the real exchange when base_url says where it is.
 */
export function rewriteApiUrls(api: unknown, baseUrl: string): unknown {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/$/, '');
  const wsProtocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const rewrite = (v: unknown): unknown => {
    if (typeof v === 'string' && /^(https?|wss?):\/\//.test(v)) {
      const u = new URL(v);
      const protocol = u.protocol.startsWith('ws') ? wsProtocol : base.protocol;
      return `${protocol}//${base.host}${prefix}${u.pathname}`.replace(/\/$/, '') + u.search;
    }
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    return v;
  };
  return rewrite(api);
}

export interface CcxtOptions {
  config: Config;
  secrets?: Secrets | undefined;
}

/**
 * How an instance spaces its requests. `paced`: ccxt's default leaky bucket, which credits no idle time, so a
 * request after another waits its full cost even on an idle instance. `window`: ccxt's rolling window over 60 s at
 * the same average rate, each request sent at once while the window has room: what an order needs.
 */
export type CcxtThrottle = 'paced' | 'window';

export async function createCcxtExchange(
  { config, secrets }: CcxtOptions,
  throttle: CcxtThrottle = 'paced',
): Promise<CcxtExchange> {
  const ccxt = await loadCcxt();
  const x = config.exchange;
  // The crypto spot path; US equities go through the Alpaca adapter with its own URL and market handling.
  if (x.venue !== 'crypto_spot') throw new Error(`the ccxt spot adapter does not trade venue ${x.venue}`);
  const id = x.id;
  if (!id) throw new Error('exchange.id is not set');
  // The ccxt.pro class where there is one (the same REST methods, plus watchOrders/watchMyTrades: following the
  // broker, exchange/ccxt-follow.ts); the REST class otherwise.
  const pro = (ccxt as unknown as { pro?: Record<string, new (o: object) => CcxtExchange> }).pro;
  const Ctor = pro?.[id] ?? (ccxt as unknown as Record<string, new (o: object) => CcxtExchange>)[id];
  const known = (ccxt as unknown as { exchanges: string[] | Record<string, unknown> }).exchanges;
  const ids = Array.isArray(known) ? known : Object.keys(known);
  if (typeof Ctor !== 'function' || !ids.includes(id)) {
    throw new Error(`unknown ccxt exchange id "${id}"`);
  }
  const ex = new Ctor({
    apiKey: secrets?.exchangeApiKey,
    secret: secrets?.exchangeSecret,
    password: secrets?.exchangePassword,
    timeout: x.timeout_ms,
    enableRateLimit: true,
    ...(throttle === 'window' ? { rateLimiterAlgorithm: 'rollingWindow', rollingWindowSize: 60_000 } : {}),
    // Spot only, and no extra signed calls during loadMarkets (see docs: one request on Binance).
    options: {
      defaultType: 'spot',
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
      adjustForTimeDifference: false,
      // We always give an amount in base; do not turn market buys into quoteOrderQty orders.
      createMarketBuyOrderRequiresPrice: false,
    },
  });
  if (x.sandbox) {
    if (!ex.urls['test']) throw new Error(`${id} has no sandbox in ccxt`);
    ex.setSandboxMode(true);
  }
  // Must come after setSandboxMode, which replaces urls.api.
  if (x.base_url) {
    ex.urls['api'] = rewriteApiUrls(ex.urls['api'], x.base_url) as never;
    // ccxt.pro dials a plain ws:// URL (an emulator on http) only with its http agent loaded first.
    const load = (ex as unknown as { loadHttpProxyAgent?: () => Promise<unknown> }).loadHttpProxyAgent;
    if (x.base_url.startsWith('http:')) await load?.call(ex);
  }
  return ex;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Two ccxt instances, two throttle queues (as for Alpaca, exchange/alpaca.ts): `ex` places and cancels orders,
 * `reads` does every read (ticker, balance, order and trade lookups, following the broker). Both use ccxt's rolling
 * window at ccxt's own average rate (Binance: 50 ms per weight unit, 1,200 units a minute each, a fifth of
 * Binance's 6,000 per IP), so an idle instance sends at once. With one paced instance an entry's order waited
 * behind its own ticker and balance reads (Binance: ~240 ms); now it never waits behind a read, however many are
 * queued.
 */
export class CcxtAdapter implements ExchangeAdapter {
  readonly kind = 'live' as const;
  readonly venue = 'crypto_spot' as const;
  readonly quote: string;
  private markets = new Map<string, MarketInfo>();

  constructor(
    readonly ex: CcxtExchange,
    private readonly ccxt: Ccxt,
    private readonly config: Config,
    readonly reads: CcxtExchange = ex,
  ) {
    this.quote = config.exchange.quote.toUpperCase();
  }

  static async create(opts: CcxtOptions): Promise<CcxtAdapter> {
    const [ex, reads] = await Promise.all([
      createCcxtExchange(opts, 'window'),
      createCcxtExchange(opts, 'window'),
    ]);
    return new CcxtAdapter(ex, await loadCcxt(), opts.config, reads);
  }

  async loadMarkets(): Promise<{ loaded: boolean; count: number; error?: string }> {
    const ms = await this.ex.loadMarkets();
    // One exchangeInfo request: the reading instance gets the same markets.
    if (this.reads !== this.ex)
      (this.reads as unknown as { setMarkets(m: unknown, c?: unknown): void }).setMarkets(
        this.ex.markets,
        this.ex.currencies,
      );
    // ccxt's TICK_SIZE constant is 4 (precision values are steps, not decimal counts).
    const tick = this.ex.precisionMode === ((this.ccxt as unknown as { TICK_SIZE?: number }).TICK_SIZE ?? 4);
    this.markets.clear();
    for (const m of Object.values(ms)) {
      if (!m || m.spot === false || m.active === false) continue;
      this.markets.set(m.symbol, {
        symbol: m.symbol,
        base: m.base,
        quote: m.quote,
        amountStep: stepFrom(m.precision?.amount, tick, 1e-8),
        priceStep: stepFrom(m.precision?.price, tick, 1e-8),
        minAmount: num(m.limits?.amount?.min) ?? 0,
        minCost: num(m.limits?.cost?.min) ?? 0,
        maxAmount: num(m.limits?.amount?.max),
      });
    }
    return { loaded: true, count: this.markets.size };
  }

  market(symbol: string): MarketInfo | undefined {
    return this.markets.get(symbol);
  }

  async ticker(symbol: string): Promise<number | undefined> {
    try {
      const t = await this.reads.fetchTicker(symbol);
      return num(t.last) ?? num(t.close) ?? num(t.bid);
    } catch {
      return undefined;
    }
  }

  async balances(): Promise<Balances> {
    const b = await this.wrap(() => this.reads.fetchBalance());
    const free: Record<string, number> = {};
    for (const [asset, v] of Object.entries((b as unknown as { free?: Record<string, number> }).free ?? {})) {
      if (typeof v === 'number') free[asset] = v;
    }
    return { free };
  }

  /** Does the key carry withdrawal permission? undefined when this exchange does not tell (via ccxt). */
  async withdrawalsEnabled(): Promise<boolean | undefined> {
    const probe = (this.reads as unknown as Record<string, unknown>)['sapiGetAccountApiRestrictions'];
    if (typeof probe !== 'function') return undefined;
    try {
      const r = (await (probe as () => Promise<Record<string, unknown>>).call(this.reads)) ?? {};
      return typeof r['enableWithdrawals'] === 'boolean' ? (r['enableWithdrawals'] as boolean) : undefined;
    } catch {
      return undefined;
    }
  }

  async createOrder(req: OrderRequest): Promise<OrderState> {
    const o = await this.wrap(() =>
      this.ex.createOrder(
        req.market,
        req.type,
        req.side,
        req.amount,
        req.type === 'limit' ? req.price : undefined,
        {
          clientOrderId: req.clientOrderId,
          // ccxt's unified trigger params: Binance spot turns these into STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT.
          ...(req.trigger?.kind === 'stop_loss' ? { stopLossPrice: req.trigger.price } : {}),
          ...(req.trigger?.kind === 'take_profit' ? { takeProfitPrice: req.trigger.price } : {}),
        },
      ),
    );
    return this.toState(o as unknown as Record<string, unknown>, req.clientOrderId, req.market);
  }

  async fetchOrder(clientOrderId: string, market: string): Promise<OrderState | undefined> {
    try {
      const o = (await this.reads.fetchOrder(undefined as unknown as string, market, {
        clientOrderId,
      })) as unknown as Record<string, unknown>;
      const st = this.toState(o, clientOrderId, market);
      if (st.filled > 0 && !this.hasFees(o)) await this.addTradeFees(st, market);
      return st;
    } catch (e) {
      if (e instanceof this.ccxt.OrderNotFound) return undefined;
      throw this.classify(e);
    }
  }

  async cancelOwnOrder(clientOrderId: string, market: string): Promise<void> {
    await this.wrap(() => this.ex.cancelOrder(undefined as unknown as string, market, { clientOrderId }));
  }

  private hasFees(o: Record<string, unknown>): boolean {
    const fees = (o['fees'] as unknown[] | undefined) ?? [];
    return fees.length > 0 || Boolean(o['fee']);
  }

  /** Order lookups (Binance fetchOrder) carry no fills: fees come from the order's trades, when ccxt can list them. */
  private async addTradeFees(st: OrderState, market: string): Promise<void> {
    if (!this.reads.has['fetchMyTrades']) return;
    try {
      const trades = await this.reads.fetchMyTrades(market, undefined, undefined, {
        orderId: st.exchangeOrderId,
      });
      const m = this.markets.get(market);
      for (const t of trades) {
        if (String(t.order) !== st.exchangeOrderId || !t.fee?.cost) continue;
        if (m && t.fee.currency === m.base) st.feeBase += t.fee.cost;
        else if (!m || t.fee.currency === m.quote) st.feeQuote += t.fee.cost;
      }
    } catch {
      // Unknown fees stay unknown: the journal keeps the larger of what it knew and what it learns.
    }
  }

  async close(): Promise<void> {
    for (const x of new Set([this.ex, this.reads]))
      await (x as unknown as { close?: () => Promise<void> }).close?.();
  }

  private async wrap<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.classify(e);
    }
  }

  /** ccxt error -> "refused, nothing happened" or "unknown, reconcile". */
  private classify(e: unknown): Error {
    const c = this.ccxt;
    const msg = e instanceof Error ? e.message : String(e);
    // Binance answers a reused live clientOrderId with InvalidOrder "Duplicate order sent.": it exists, so reconcile.
    if (/duplicate order/i.test(msg) || e instanceof c.DuplicateOrderId)
      return new ExchangeUncertain(msg, { cause: e });
    if (e instanceof c.InsufficientFunds)
      return new ExchangeRejected('insufficient_funds', msg, { cause: e });
    if (e instanceof c.AuthenticationError || e instanceof c.PermissionDenied)
      return new ExchangeRejected('auth', msg, { cause: e });
    // InvalidNonce is a NetworkError subclass but means "refused because of the clock": nothing executed.
    if (e instanceof c.InvalidNonce) return new ExchangeRejected('clock', msg, { cause: e });
    if (e instanceof c.NetworkError) return new ExchangeUncertain(msg, { cause: e });
    if (e instanceof c.InvalidOrder || e instanceof c.BadRequest || e instanceof c.BadSymbol) {
      return new ExchangeRejected('invalid_order', msg, { cause: e });
    }
    if (e instanceof c.ExchangeError) return new ExchangeRejected('exchange_error', msg, { cause: e });
    return new ExchangeUncertain(msg, { cause: e });
  }

  private toState(o: Record<string, unknown>, clientOrderId: string, market: string): OrderState {
    const m = this.markets.get(market);
    const status =
      o['status'] === 'closed'
        ? 'closed'
        : o['status'] === 'open' || o['status'] === undefined
          ? 'open'
          : o['status'] === 'rejected'
            ? 'rejected'
            : 'canceled';
    const filled = num(o['filled']) ?? 0;
    let average = num(o['average']);
    if (average === undefined && filled > 0) average = (num(o['cost']) ?? 0) / filled || num(o['price']);
    let feeQuote = 0;
    let feeBase = 0;
    const fees =
      (o['fees'] as { cost?: number; currency?: string }[] | undefined) ??
      (o['fee'] ? [o['fee'] as { cost?: number; currency?: string }] : []);
    for (const f of fees) {
      const cost = num(f.cost) ?? 0;
      if (!cost) continue;
      if (m && f.currency === m.base) feeBase += cost;
      else if (!m || f.currency === m.quote) feeQuote += cost;
      // Fees in a third asset (e.g. BNB) are not converted: they do not change this position's amount.
    }
    return {
      clientOrderId,
      exchangeOrderId: String(o['id'] ?? ''),
      status,
      amount: num(o['amount']) ?? 0,
      filled,
      average,
      feeQuote,
      feeBase,
    };
  }
}
