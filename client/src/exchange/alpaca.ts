import type * as CcxtNs from 'ccxt';
import type { MarketInfo } from '../decide/index.js';
import { createAlpacaCcxt, httpFailure, type AlpacaCcxtOptions, type CcxtExchange } from './alpaca-ccxt.js';
import { ALPACA_CODES, classifyAlpaca } from './alpaca-errors.js';
import {
  formatPrice,
  parseAccount,
  parseAsset,
  parseCalendarDay,
  parseClock,
  parseOrder,
  parsePosition,
  parseQuote,
} from './alpaca-parse.js';
import { loadCcxt } from './ccxt.js';
import type {
  AssetInfo,
  CalendarDay,
  EquityAccount,
  EquityOrderRequest,
  EquityOrderState,
  EquityPosition,
  EquityVenue,
  ExitRequest,
  MarketClock,
  Quote,
} from './equity-types.js';
import { ExchangeRejected, ExchangeUncertain, type Balances, type ExchangeAdapter } from './types.js';

/**
 * US equities on Alpaca through the REAL ccxt.alpaca class. Orders always carry an explicit time_in_force and
 * our deterministic client_order_id; prices are rounded to Alpaca's ticks here; lookups by our id use
 * v2/orders:by_client_order_id. A 403 on an order is a definitive refusal (never retried) even though ccxt
 * reports it as a NetworkError (see alpaca-errors.ts).
 */

type Json = Record<string, unknown>;
type Call = (params?: Json) => Promise<unknown>;

export interface AlpacaAdapterOptions extends AlpacaCcxtOptions {
  /** Orders whose client_order_id starts with this are this client's (order-id.ts makes "cs..."). */
  ownClientIdPrefix?: string | undefined;
  /** How long exitPosition waits for cancelled exits to settle before selling. */
  cancelSettleMs?: number | undefined;
}

const MAX_CLIENT_ID = 128;

/** "AAPL/USD" or "AAPL" -> "AAPL". */
export const equityId = (market: string) => market.split('/')[0]!.toUpperCase();

/**
 * A value for a `{param}` of an Alpaca URL path. ccxt pastes path parameters in verbatim, so it is percent-encoded
 * here; a dot segment is refused outright, since URL parsers resolve "." and ".." even when written %2E
 * (GET /v2/assets/.. would be GET /v2/). Throws before any request is made.
 */
export function pathParam(value: string): string {
  const encoded = encodeURIComponent(value);
  if (encoded === '' || /^(\.|%2e){1,2}$/i.test(encoded))
    throw new ExchangeRejected('invalid_symbol', `${JSON.stringify(value)} cannot be a URL path segment`);
  return encoded;
}

const CALENDAR_TTL_MS = 3_600_000;
/**
 * Budgets (Alpaca: 200 trading requests/min per account, market data its own 200/min): orders and cancels get
 * 150/min of their own, leaving 50/min for the background reads (about 33/min scheduled, venue/account-state.ts);
 * quotes 180/min. See docs/client-venues.md.
 */
export const ORDERS_PER_MIN = 150;
export const QUOTES_PER_MIN = 180;

export class AlpacaAdapter implements ExchangeAdapter, EquityVenue {
  readonly kind = 'live' as const;
  readonly quote = 'USD';
  private markets = new Map<string, MarketInfo>();
  private readonly calendarCache = new Map<string, { at: number; days: CalendarDay[] }>();
  private readonly ownPrefix: string;
  private readonly settleMs: number;
  private readonly reads: CcxtExchange;
  private readonly data: CcxtExchange;
  private readonly closers: (() => void)[] = [];
  /** Every order state a write returned (our placements): the warm account state takes them in. */
  onOrder: ((o: EquityOrderState, price: number | undefined) => void) | undefined;

  /**
   * Three ccxt instances, each with its own ccxt throttle, none faster than ccxt's 333 ms: `ex` sends only writes
   * (orders, cancels) in a rolling window of ORDERS_PER_MIN, `reads` every trading-API GET (background refreshes,
   * lookups) paced at 333 ms, and `data` market data (quotes) in a window of QUOTES_PER_MIN. ccxt queues all
   * requests of one instance, so an order never waits behind a read.
   */
  constructor(
    readonly ex: CcxtExchange,
    private readonly ccxt: typeof CcxtNs,
    opts: { ownClientIdPrefix?: string | undefined; cancelSettleMs?: number | undefined } = {},
    instances: { reads?: CcxtExchange | undefined; data?: CcxtExchange | undefined } = {},
  ) {
    this.ownPrefix = opts.ownClientIdPrefix ?? 'cs';
    this.settleMs = opts.cancelSettleMs ?? 5_000;
    this.reads = instances.reads ?? ex;
    this.data = instances.data ?? ex;
  }

  static async create(opts: AlpacaAdapterOptions): Promise<AlpacaAdapter> {
    const [ex, reads, data] = await Promise.all([
      createAlpacaCcxt(opts, { kind: 'window', perMinute: ORDERS_PER_MIN }),
      createAlpacaCcxt(opts),
      createAlpacaCcxt(opts, { kind: 'window', perMinute: QUOTES_PER_MIN }),
    ]);
    return new AlpacaAdapter(ex, await loadCcxt(), opts, { reads, data });
  }

  /** The instance (and so the throttle queue) a ccxt method's request waits in. */
  private instanceFor(name: string): CcxtExchange {
    if (name.startsWith('marketPrivate')) return this.data;
    if (name.startsWith('traderPrivateGet')) return this.reads;
    return this.ex;
  }

  private call(name: string): Call {
    const ex = this.instanceFor(name);
    const f = (ex as unknown as Record<string, unknown>)[name];
    if (typeof f !== 'function') throw new Error(`ccxt alpaca has no ${name}`);
    return (f as Call).bind(ex);
  }

  private async api<T = Json>(name: string, params: Json = {}): Promise<T> {
    try {
      return (await this.call(name)(params)) as T;
    } catch (e) {
      throw classifyAlpaca(this.ccxt, e);
    }
  }

  /** Like api(), but Alpaca's 404 "not found" is an answer (undefined), not a failure. */
  private async find<T = Json>(name: string, params: Json): Promise<T | undefined> {
    try {
      return (await this.call(name)(params)) as T;
    } catch (e) {
      const h = httpFailure(e);
      if (h?.status === 404 && h.code === ALPACA_CODES.notFound) return undefined;
      const c = classifyAlpaca(this.ccxt, e);
      // A read that failed for any other reason means "could not ask", never "absent".
      throw c instanceof ExchangeUncertain ? c : new ExchangeUncertain(c.message, { cause: e });
    }
  }

  async loadMarkets(): Promise<{ loaded: boolean; count: number; error?: string }> {
    let ms: Record<string, CcxtNs.Market>;
    try {
      ms = (await this.ex.loadMarkets(true)) as Record<string, CcxtNs.Market>;
    } catch (e) {
      throw classifyAlpaca(this.ccxt, e);
    }
    this.markets.clear();
    for (const m of Object.values(ms)) {
      if (!m || m.active === false) continue;
      const step = m.precision?.amount ?? 1;
      this.markets.set(m.symbol, {
        symbol: m.symbol,
        base: m.base,
        quote: m.quote,
        amountStep: step,
        priceStep: m.precision?.price ?? 0.0001,
        minAmount: step,
        // Fractional (and notional) orders must be worth at least $1.
        minCost: step < 1 ? 1 : 0,
      });
    }
    return { loaded: true, count: this.markets.size };
  }

  market(symbol: string): MarketInfo | undefined {
    return this.markets.get(symbol) ?? this.markets.get(`${equityId(symbol)}/USD`);
  }

  async ticker(symbol: string): Promise<number | undefined> {
    return (await this.priceSnapshot(symbol).catch(() => undefined))?.last;
  }

  /**
   * Last trade and latest quote in ONE market-data request (the snapshot): all an entry asks the broker before
   * its order. `last` falls back to the quote's mid.
   */
  async priceSnapshot(symbol: string): Promise<{ last: number | undefined; quote: Quote | undefined }> {
    const snap = await this.api<Json>('marketPrivateGetV2StocksSymbolSnapshot', {
      symbol: pathParam(equityId(symbol)),
    });
    const trade = Number((snap['latestTrade'] as Json | undefined)?.['p']);
    const quote = parseQuote((snap['latestQuote'] ?? {}) as Json);
    const last = trade > 0 ? trade : quote ? (quote.bid + quote.ask) / 2 : undefined;
    return { last, quote };
  }

  /** Every active US equity with its flags, in one request (GET /v2/assets): what keeps halts visible. */
  async assets(): Promise<AssetInfo[]> {
    return (
      await this.api<Json[]>('traderPrivateGetV2Assets', { status: 'active', asset_class: 'us_equity' })
    ).map(parseAsset);
  }

  /** USD = buying power (open buys already deducted); each stock = shares not held by open sells. */
  async balances(): Promise<Balances> {
    const [acct, pos] = await Promise.all([this.account(), this.positions()]);
    const free: Record<string, number> = { USD: acct.buyingPower };
    for (const p of pos) free[p.symbol] = p.qtyAvailable;
    return { free };
  }

  createOrder(req: EquityOrderRequest): Promise<EquityOrderState> {
    return this.createEquityOrder(req);
  }

  async createEquityOrder(req: EquityOrderRequest): Promise<EquityOrderState> {
    if (!req.clientOrderId || req.clientOrderId.length > MAX_CLIENT_ID)
      throw new ExchangeRejected('invalid_order', `client_order_id must be 1..${MAX_CLIENT_ID} characters`);
    const id = equityId(req.market);
    const symbol = `${id}/USD`;
    const params: Json = { clientOrderId: req.clientOrderId, timeInForce: req.timeInForce ?? 'day' };
    if (req.extendedHours) params['extended_hours'] = true;
    let type: 'market' | 'limit' = req.type;
    let price = req.type === 'limit' && req.price !== undefined ? Number(formatPrice(req.price)) : undefined;
    if (req.trigger?.kind === 'stop_loss' && req.type === 'market') return this.createStop(req, params);
    if (req.oco) {
      // One cancels the other: the parent is the take-profit limit, the stop rides as its leg.
      type = 'limit';
      price = Number(formatPrice(req.oco.takeProfit, 'up'));
      params['order_class'] = 'oco';
      params['take_profit'] = { limit_price: formatPrice(req.oco.takeProfit, 'up') };
      params['stop_loss'] = { stop_price: formatPrice(req.oco.stopLoss, 'down') };
    } else if (req.trigger?.kind === 'stop_loss') {
      // A stop-limit exit: ccxt turns triggerPrice on a limit order into type stop_limit.
      type = 'limit';
      params['triggerPrice'] = formatPrice(req.trigger.price);
      price = Number(formatPrice(req.price ?? req.trigger.price));
    } else if (req.trigger?.kind === 'take_profit') {
      // Alpaca has no take-profit trigger: a resting limit at the target is one.
      type = 'limit';
      price = Number(formatPrice(req.trigger.price));
    }
    if (req.bracket) {
      const buy = req.side === 'buy';
      params['order_class'] = 'bracket';
      params['take_profit'] = { limit_price: formatPrice(req.bracket.takeProfit, buy ? 'up' : 'down') };
      params['stop_loss'] = {
        stop_price: formatPrice(req.bracket.stopLoss, buy ? 'down' : 'up'),
        ...(req.bracket.stopLossLimit !== undefined
          ? { limit_price: formatPrice(req.bracket.stopLossLimit, buy ? 'down' : 'up') }
          : {}),
      };
    }
    if (type === 'limit' && price === undefined)
      throw new ExchangeRejected('invalid_order', 'a limit order needs a price');
    try {
      const o = await this.ex.createOrder(symbol, type, req.side, req.amount, price, params);
      return this.placed(parseOrder(o.info as Json), price ?? req.refPrice);
    } catch (e) {
      throw classifyAlpaca(this.ccxt, e);
    }
  }

  /**
   * A plain stop (market once triggered): ccxt's alpaca createOrder knows only stop_limit, so this one request
   * goes to POST /v2/orders directly. Stops trade in the regular session only; never extended_hours.
   */
  private async createStop(req: EquityOrderRequest, params: Json): Promise<EquityOrderState> {
    const raw = await this.api<Json>('traderPrivatePostV2Orders', {
      symbol: equityId(req.market),
      side: req.side,
      type: 'stop',
      qty: String(req.amount),
      stop_price: formatPrice(req.trigger!.price, req.side === 'sell' ? 'down' : 'up'),
      time_in_force: params['timeInForce'],
      client_order_id: req.clientOrderId,
    });
    return this.placed(parseOrder(raw), req.refPrice);
  }

  private placed(o: EquityOrderState, price: number | undefined): EquityOrderState {
    this.onOrder?.(o, price);
    return o;
  }

  async fetchOrder(clientOrderId: string, _market?: string): Promise<EquityOrderState | undefined> {
    return this.fetchEquityOrder(clientOrderId);
  }

  async fetchEquityOrder(clientOrderId: string): Promise<EquityOrderState | undefined> {
    const raw = await this.find('traderPrivateGetV2OrdersByClientOrderId', {
      client_order_id: clientOrderId,
    });
    return raw ? parseOrder(raw) : undefined;
  }

  async openOrders(market?: string): Promise<EquityOrderState[]> {
    return this.listOrders('open', market);
  }

  /** Newest first, bracket legs nested under their entry (at most 500: Alpaca's page limit). */
  private async listOrders(status: 'open' | 'all', market?: string): Promise<EquityOrderState[]> {
    const raw = await this.api<Json[]>('traderPrivateGetV2Orders', {
      status,
      nested: true,
      limit: 500,
      ...(market ? { symbols: equityId(market) } : {}),
    });
    return raw.map(parseOrder);
  }

  async cancelOrder(exchangeOrderId: string): Promise<void> {
    await this.api('traderPrivateDeleteV2OrdersOrderId', { order_id: pathParam(exchangeOrderId) });
  }

  async account(): Promise<EquityAccount> {
    return parseAccount(await this.api('traderPrivateGetV2Account'));
  }

  async clock(): Promise<MarketClock> {
    return parseClock(await this.api('traderPrivateGetV2Clock'));
  }

  /**
   * The exchange calendar changes a few times a year, and every equity decision asks for it: an hour's cache
   * saves one paced request (333 ms) per decision. The clock (is the session open now) is never cached.
   */
  async calendar(start: string, end: string): Promise<CalendarDay[]> {
    const key = `${start}|${end}`;
    const hit = this.calendarCache.get(key);
    if (hit && Date.now() - hit.at < CALENDAR_TTL_MS) return hit.days;
    const days = (await this.api<Json[]>('traderPrivateGetV2Calendar', { start, end })).map(parseCalendarDay);
    if (this.calendarCache.size >= 16) this.calendarCache.clear();
    this.calendarCache.set(key, { at: Date.now(), days });
    return days;
  }

  async latestQuote(symbol: string): Promise<Quote | undefined> {
    const raw = await this.find('marketPrivateGetV2StocksSymbolQuotesLatest', {
      symbol: pathParam(equityId(symbol)),
    });
    return raw ? parseQuote(raw) : undefined;
  }

  async asset(symbol: string): Promise<AssetInfo | undefined> {
    const raw = await this.find('traderPrivateGetV2AssetsSymbolOrAssetId', {
      symbol_or_asset_id: pathParam(equityId(symbol)),
    });
    return raw ? parseAsset(raw) : undefined;
  }

  async positions(): Promise<EquityPosition[]> {
    return (await this.api<Json[]>('traderPrivateGetV2Positions')).map(parsePosition);
  }

  async position(symbol: string): Promise<EquityPosition | undefined> {
    const raw = await this.find('traderPrivateGetV2PositionsSymbolOrAssetId', {
      symbol_or_asset_id: pathParam(equityId(symbol)),
    });
    return raw ? parsePosition(raw) : undefined;
  }

  /**
   * Exits hold the shares they would sell (Alpaca answers a sell beyond qty_available with a 403), so this
   * client's open exits on the symbol are cancelled first: bracket legs of its filled entries, its protective
   * sells, and its still-open entries (with their held legs). Orders that are not ours are left alone.
   */
  async exitPosition(req: ExitRequest): Promise<EquityOrderState | undefined> {
    // Idempotent: a retry after a lost reply finds the exit already placed instead of cancelling it.
    const existing = await this.fetchEquityOrder(req.clientOrderId);
    if (existing) return existing;
    const cancelled: string[] = [];
    // status=all: an entry that has filled is no longer "open" although its legs are.
    for (const o of await this.listOrders('all', req.market)) {
      if (!o.clientOrderId.startsWith(this.ownPrefix)) continue;
      const targets =
        o.status === 'open'
          ? [o.exchangeOrderId]
          : o.legs.filter((l) => l.status === 'open').map((l) => l.exchangeOrderId);
      for (const id of targets) {
        try {
          await this.cancelOrder(id);
          cancelled.push(id);
        } catch (e) {
          // 422: it filled or ended meanwhile; the position read below sees the result.
          if (!(e instanceof ExchangeRejected)) throw e;
        }
      }
    }
    await this.waitEnded(cancelled);
    const pos = await this.position(req.market);
    // Never more than the broker still holds: a stop or bracket leg may have sold it already, and a sell beyond
    // the position would open a short on a margin account.
    const avail = pos && pos.qty > 0 ? pos.qtyAvailable : 0;
    const amount = Math.min(req.amount ?? avail, avail);
    if (!(amount > 0)) return undefined;
    return this.createEquityOrder({
      clientOrderId: req.clientOrderId,
      market: req.market,
      side: 'sell',
      type: req.type ?? 'market',
      amount,
      price: req.price,
      refPrice: req.price ?? pos?.avgEntryPrice ?? 0,
      timeInForce: req.timeInForce,
      extendedHours: req.extendedHours,
    });
  }

  /** A cancel is asynchronous at Alpaca (pending_cancel): wait, bounded, until each order has ended. */
  private async waitEnded(ids: string[]): Promise<void> {
    const deadline = Date.now() + this.settleMs;
    for (const id of ids) {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        const raw = await this.find('traderPrivateGetV2OrdersOrderId', { order_id: pathParam(id) });
        if (!raw || parseOrder(raw).status !== 'open') break;
        if (Date.now() > deadline)
          throw new ExchangeUncertain(`order ${id} still open ${this.settleMs} ms after its cancel`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Run `f` when the adapter closes (the background refresh stops with it). */
  onClose(f: () => void): void {
    this.closers.push(f);
  }

  async close(): Promise<void> {
    for (const f of this.closers.splice(0)) f();
    for (const ex of new Set([this.ex, this.reads, this.data]))
      await (ex as unknown as { close?: () => Promise<void> }).close?.();
  }
}
