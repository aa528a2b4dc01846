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
import {
  AlpacaTradeStream,
  orderEvent,
  parseOrderJson,
  streamUrl,
  type AlpacaOrderJson,
  type TradeStreamOptions,
} from './alpaca-stream.js';
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
import {
  ExchangeRejected,
  ExchangeUncertain,
  fillKey,
  type Balances,
  type BrokerEvent,
  type ExchangeAdapter,
} from './types.js';

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
/** How long a cancel waits for the stream's confirming event before it reads the order back instead. */
const STREAM_CONFIRM_MS = 1_500;
/** Orders a catch-up reads one by one (executions of orders the lists did not include). */
const MAX_ORDER_READS = 20;
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
  /** Orders the trading stream said have ended (bounded), and cancels waiting to hear it. */
  private readonly endedByEvent = new Set<string>();
  private readonly endWaiters = new Map<string, () => void>();
  private stream: AlpacaTradeStream | undefined;
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

  /**
   * Alpaca's replace (PATCH /v2/orders/{id}): one read for the broker's id of our order, then the replace, whose
   * new order carries our next id. A 422 (not open any more, not replaceable yet) is a refusal, never retried.
   */
  async replaceOrder(r: {
    current: string;
    next: string;
    price: number;
    market: string;
    timeInForce: 'day' | 'gtc';
  }): Promise<EquityOrderState> {
    const cur = await this.fetchEquityOrder(r.current);
    if (!cur) throw new ExchangeRejected('invalid_order', `order ${r.current} not found to replace`);
    const raw = await this.api<Json>('traderPrivatePatchV2OrdersOrderId', {
      order_id: pathParam(cur.exchangeOrderId),
      limit_price: formatPrice(r.price, cur.side === 'buy' ? 'down' : 'up'),
      time_in_force: r.timeInForce,
      client_order_id: r.next,
    });
    return parseOrder(raw);
  }

  async bestQuote(symbol: string): Promise<{ bid: number; ask: number } | undefined> {
    const q = await this.latestQuote(symbol);
    return q && q.bid > 0 && q.ask > 0 ? { bid: q.bid, ask: q.ask } : undefined;
  }

  /** Cancel our order by our id (a working order out of reprices); the caller then reads its state. */
  async cancelOwnOrder(clientOrderId: string): Promise<void> {
    const o = await this.fetchEquityOrder(clientOrderId);
    if (o?.status === 'open') await this.cancelOrder(o.exchangeOrderId);
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

  /**
   * A cancel is asynchronous at Alpaca (pending_cancel): wait, bounded, until each order has ended - confirmed by
   * the trading stream's event when it is up (no read), else (or when no event came within STREAM_CONFIRM_MS:
   * the stream lags 150-250 ms) by reading the order back.
   */
  private async waitEnded(ids: string[]): Promise<void> {
    const deadline = Date.now() + this.settleMs;
    for (const id of ids) {
      if (await this.heardEnded(id, Math.min(STREAM_CONFIRM_MS, this.settleMs))) continue;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        const raw = await this.find('traderPrivateGetV2OrdersOrderId', { order_id: pathParam(id) });
        if (!raw || parseOrder(raw).status !== 'open') break;
        if (Date.now() > deadline)
          throw new ExchangeUncertain(`order ${id} still open ${this.settleMs} ms after its cancel`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Subscribe to trade_updates on the trading stream of the same account (alpaca-stream.ts). */
  tradeStream(o: Omit<TradeStreamOptions, 'url' | 'keyId' | 'secret'>): AlpacaTradeStream {
    const ex = this.ex as unknown as { urls: { api: { trader: string } }; apiKey: string; secret: string };
    const base = (this.ex as unknown as { implodeHostname(u: string): string }).implodeHostname(
      ex.urls.api.trader,
    );
    this.stream = new AlpacaTradeStream({
      ...o,
      url: streamUrl(base),
      keyId: ex.apiKey,
      secret: ex.secret,
      onEvent: (e) => {
        this.noteEvent(e);
        o.onEvent(e);
      },
    });
    return this.stream;
  }

  private noteEvent(e: BrokerEvent): void {
    if (e.status === 'open') return;
    if (this.endedByEvent.size >= 1000) this.endedByEvent.clear();
    this.endedByEvent.add(e.orderId);
    this.endWaiters.get(e.orderId)?.();
  }

  /** Resolves true once the stream says the order ended, false after `ms` (or at once without a stream). */
  private heardEnded(id: string, ms: number): Promise<boolean> {
    if (this.endedByEvent.has(id)) return Promise.resolve(true);
    if (!this.stream?.up) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => (this.endWaiters.delete(id), resolve(false)), ms);
      this.endWaiters.set(id, () => (clearTimeout(t), this.endWaiters.delete(id), resolve(true)));
    });
  }

  /**
   * What the stream may have missed since `since` (ms), read over REST as BrokerEvents with the stream's keys:
   * orders submitted since then and every order still open (nested, so legs come with their parent) give each
   * order's current state; FILL activities since then give each execution (with its cumulative quantity), also of
   * older orders such as a bracket leg that filled today. Paged; bounded by `maxPages` per list.
   */
  async eventsSince(since: number, maxPages = 10): Promise<BrokerEvent[]> {
    const after = new Date(since).toISOString();
    const orders = new Map<string, { o: AlpacaOrderJson; raw: Json }>();
    const add = (raw: Json) => {
      const p = parseOrderJson(raw);
      if (!p.success) return;
      orders.set(p.data.id, { o: p.data, raw });
      for (const l of (raw['legs'] as Json[] | null | undefined) ?? []) add(l);
    };
    for (const status of ['all', 'open'] as const) {
      const list = await this.api<Json[]>('traderPrivateGetV2Orders', {
        status,
        nested: true,
        limit: 500,
        direction: 'asc',
        ...(status === 'all' ? { after } : {}),
      });
      list.forEach(add);
    }
    const fills: Json[] = [];
    let token: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const batch = await this.api<Json[]>('traderPrivateGetV2AccountActivitiesActivityType', {
        activity_type: 'FILL',
        after,
        direction: 'asc',
        page_size: 100,
        ...(token ? { page_token: token } : {}),
      });
      fills.push(...batch);
      if (batch.length < 100) break;
      token = String(batch.at(-1)!['id']);
    }
    // An execution of an order not listed above (submitted earlier, ended since): read that order once, at most
    // MAX_ORDER_READS per catch-up (each is a paced request); the rest wait for the next catch-up.
    let reads = 0;
    for (const f of fills) {
      const id = String(f['order_id'] ?? '');
      if (!id || orders.has(id) || reads >= MAX_ORDER_READS) continue;
      reads += 1;
      const raw = await this.find<Json>('traderPrivateGetV2OrdersOrderId', { order_id: pathParam(id) });
      if (raw) add(raw);
    }
    const out: BrokerEvent[] = [];
    const time = (v: unknown) => {
      const t = typeof v === 'string' ? Date.parse(v) : NaN;
      return Number.isFinite(t) ? t : since;
    };
    for (const { o, raw } of orders.values()) {
      out.push(orderEvent('new', o, time(raw['submitted_at'] ?? raw['created_at']), 'rest'));
      const filled = o.filled_qty ?? 0;
      if (filled > 0)
        out.push(
          orderEvent(
            o.status === 'filled' ? 'fill' : 'partial_fill',
            o,
            time(raw['filled_at'] ?? raw['updated_at']),
            'rest',
          ),
        );
      if (['canceled', 'expired', 'rejected', 'replaced'].includes(o.status))
        out.push(orderEvent(o.status, o, time(raw['updated_at']), 'rest'));
    }
    for (const f of fills) {
      const o = orders.get(String(f['order_id'] ?? ''))?.o;
      const cum = Number(f['cum_qty']);
      const qty = Number(f['qty']);
      const price = Number(f['price']);
      if (!o || !(cum > 0) || !(qty > 0) || !(price > 0)) continue;
      const e = orderEvent(
        f['type'] === 'partial_fill' ? 'partial_fill' : 'fill',
        o,
        time(f['transaction_time']),
        'rest',
        {
          id: String(f['id'] ?? ''),
          qty,
          price,
        },
      );
      // The order's state at this execution, not now: its cumulative quantity then; the average is unknown
      // for an intermediate step (the ledger takes the last step's average, which covers the earlier ones).
      const last = Math.abs(cum - (o.filled_qty ?? 0)) < 1e-9;
      out.push({
        ...e,
        key: fillKey(o.client_order_id, cum),
        filled: cum,
        average: last ? o.filled_avg_price : undefined,
        status: last ? e.status : 'open',
      });
    }
    return out;
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
