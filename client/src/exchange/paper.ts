import type { Config, VenueKind } from '../config.js';
import { builtinCalendar, marketTime, newYorkToUtc, sessionAt, type MarketInfo } from '../decide/index.js';
import type { Journal } from '../journal/index.js';
import {
  step,
  type PriceStep,
  type RestingOrder,
  type SessionKindOrAlways,
  type StepResult,
} from '../paper/fill-rules.js';
import { signalPrices, type PriceSource } from '../paper/prices.js';
import { defaultMarket } from './markets.js';
import {
  ExchangeRejected,
  type Balances,
  type ExchangeAdapter,
  type LegState,
  type OrderRequest,
  type OrderState,
} from './types.js';

/**
 * Simulated exchange: a broker that behaves like one. Orders and balances live in the same journal as live ones,
 * keyed by the same clientOrderId, so a retry or restart can never fill twice and status/history read the same in
 * both modes. An order that can execute when placed does (a market order, a marketable limit: at the current
 * price plus paper.slippage_pct); anything else rests at the simulated broker and is filled by the pure fill
 * rules (paper/fill-rules.ts) on each step of the price source (paper.prices, paper/prices.ts): limits when the
 * price crosses them, stops and take-profits, bracket legs once their entry filled, DAY orders expired at the
 * close of the (simulated, paper.market_clock) session. tick() takes the steps; `run` calls it every
 * paper.tick_ms.
 */
export class PaperAdapter implements ExchangeAdapter {
  readonly kind = 'paper' as const;
  readonly venue: VenueKind;
  readonly quote: string;
  private sourceLoaded = false;
  private readonly prices: PriceSource;
  private readonly now: () => number;
  /** The latest price step of each symbol: where the next placement fills. */
  private readonly lastStep = new Map<string, PriceStep>();
  /** The latest signal price of each symbol: what the walk is pulled toward. */
  private readonly anchors = new Map<string, number>();
  /** Placements, cancels and steps run one at a time: two must never fill the same resting order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly journal: Journal,
    private readonly config: Config,
    /** Public market data (no keys), or undefined for fully offline paper trading. */
    private readonly source?: ExchangeAdapter | undefined,
    /** Real time (ms) at which the simulated market clock (paper.market_clock) reads its `start`. */
    readonly clockOrigin: number = Date.now(),
    opts: { prices?: PriceSource | undefined; now?: (() => number) | undefined } = {},
  ) {
    this.venue = config.exchange.venue;
    this.quote = config.exchange.quote.toUpperCase();
    this.prices = opts.prices ?? signalPrices();
    this.now = opts.now ?? Date.now;
    journal.ensurePaperWallet(this.quote, config.paper.starting_balance_quote);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async loadMarkets(): Promise<{ loaded: boolean; count: number; error?: string | undefined }> {
    if (!this.source)
      return { loaded: false, count: 0, error: 'no exchange configured: default market rules' };
    try {
      const timeout = new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error('timed out')), this.config.exchange.load_markets_timeout_ms).unref(),
      );
      const r = await Promise.race([this.source.loadMarkets(), timeout]);
      this.sourceLoaded = r.loaded;
      return r;
    } catch (e) {
      return {
        loaded: false,
        count: 0,
        error: `markets unavailable (${(e as Error).message}): default market rules`,
      };
    }
  }

  /**
   * The simulated broker's clock: market time at real time `now` (paper.market_clock), or `now` itself. The
   * trading session and DAY expiry are computed from it.
   */
  marketNow(now: number): number {
    const clock = this.config.paper.market_clock;
    return clock && this.venue === 'us_equity' ? marketTime(clock, this.clockOrigin, now) : now;
  }

  market(symbol: string): MarketInfo | undefined {
    if (this.sourceLoaded) return this.source!.market(symbol);
    return defaultMarket(symbol, this.config.exchange);
  }

  async ticker(symbol: string): Promise<number | undefined> {
    if (!this.sourceLoaded || !this.config.paper.use_exchange_ticker) return undefined;
    return this.source!.ticker(symbol);
  }

  async balances(): Promise<Balances> {
    return { free: this.journal.paperBalances() };
  }

  /** One asset's free balance (every decision needs the quote's, not the wallet's hundreds of symbols). */
  freeBalance(asset: string): number {
    return this.journal.paperBalance(asset);
  }

  /** The session the fill rules see at market time `mt`: crypto spot always trades. */
  private session(mt: number): SessionKindOrAlways {
    if (this.venue !== 'us_equity') return 'always';
    return sessionAt(mt, builtinCalendar(mt - 86_400_000, 9)).kind;
  }

  createOrder(req: OrderRequest): Promise<OrderState> {
    return this.serial(() => this.place(req));
  }

  private async place(req: OrderRequest): Promise<OrderState> {
    const existing = this.journal.paperOrder(req.clientOrderId) as PaperOrder | undefined;
    if (existing) return this.view(existing);
    const m = this.market(req.market);
    if (!m) throw new ExchangeRejected('bad_symbol', `paper: unknown market ${req.market}`);
    if (this.venue === 'us_equity') {
      // The broker's own refusals, simulated: paper must not accept what Alpaca would refuse.
      const refusal = equityRefusal(req, m);
      if (refusal) throw new ExchangeRejected('invalid_order', `paper: ${refusal}`);
    }
    const now = this.now();
    const mt = this.marketNow(now);
    this.anchors.set(req.market, req.refPrice);
    // The price now: the source's latest step of this symbol (resting orders in it get that step too).
    await this.stepMarkets(now, [req.market]).catch(() => false);
    const changes: Change[] = [];
    const deltas: Record<string, number> = {};
    // An exit sells what this client holds: its resting sells in the symbol (bracket legs, the open's OCO) go first.
    if (req.params?.cancelProtectiveFirst) {
      for (const o of this.journal.paperOpenOrders() as PaperOrder[])
        if (o.market === req.market && o.side === 'sell')
          changes.push({ order: closeOut(o, 'canceled', 'canceled before an exit'), isNew: false });
    }
    const current = this.lastStep.get(req.market);
    const at = (side: 'buy' | 'sell') =>
      (side === 'buy' ? current?.ask : current?.bid) ?? current?.c ?? req.refPrice;
    const last = (await this.ticker(req.market)) ?? at(req.side);
    const expiresAt = this.expiry(req, mt);
    const order = newOrder(req, `paper-${req.clientOrderId}`, partsOf(req, expiresAt));
    const legs = bracketLegs(req, order, expiresAt);
    changes.push({ order, isNew: true }, ...legs.map((l) => ({ order: l, isNew: true })));
    const plain = !req.trigger && req.params?.orderClass !== 'oco';
    const slip = this.config.paper.slippage_pct / 100;
    if (plain) {
      // Executable now: today's price plus slippage against you, no better than the limit.
      let price = req.side === 'buy' ? last * (1 + slip) : last * (1 - slip);
      const marketable =
        req.type !== 'limit' ||
        req.price === undefined ||
        (req.side === 'buy' ? price <= req.price : price >= req.price);
      if (req.type === 'limit' && req.price !== undefined)
        price = req.side === 'buy' ? Math.min(price, req.price) : Math.max(price, req.price);
      if (req.side === 'buy') {
        const cost = req.amount * (marketable ? price : (req.price ?? price));
        const free = this.journal.paperBalance(m.quote) + (deltas[m.quote] ?? 0);
        if (free < cost * (1 + this.config.paper.fee_rate))
          throw new ExchangeRejected(
            'insufficient_funds',
            `paper: insufficient ${m.quote} (need ${(cost * (1 + this.config.paper.fee_rate)).toFixed(8)})`,
          );
      } else if (this.journal.paperBalance(m.base) < req.amount - 1e-12) {
        throw new ExchangeRejected('insufficient_funds', `paper: insufficient ${m.base}`);
      }
      if (marketable) {
        this.fill(order, price, m, deltas);
        for (const l of legs) l.resting = l.resting.map((p) => ({ ...p, state: 'open' as const }));
      }
    } else {
      // A stop or an OCO pair: already reached at the current price, it executes now (as a broker's would).
      const p = at(req.side);
      const r = step(order.resting, { t: mt, o: p, h: p, l: p, c: p }, 'always', slip);
      this.apply([order], r, m, deltas);
    }
    this.journal.writePaperOrders(
      changes.map((c) => ({ id: c.order.clientOrderId, body: c.order, isNew: c.isNew })),
      deltas,
    );
    return this.view(order);
  }

  /** A DAY order's expiry (market time): the close of the trading day it rests in (after-hours close with extended hours). */
  private expiry(req: OrderRequest, mt: number): number | undefined {
    if (this.venue !== 'us_equity' || req.params?.timeInForce !== 'day') return undefined;
    const ext = req.params.extendedHours;
    for (const d of builtinCalendar(mt - 86_400_000, 9)) {
      const close = newYorkToUtc(d.date, ext ? d.sessionClose : d.close);
      if (close > mt) return close;
    }
    return undefined;
  }

  /** Fill a whole order at `price`, moving the balances (fee in quote, like the exchanges paper stands for). */
  private fill(o: PaperOrder, price: number, m: MarketInfo, deltas: Record<string, number>): boolean {
    const value = o.amount * price;
    const fee = value * this.config.paper.fee_rate;
    const have = (a: string) => this.journal.paperBalance(a) + (deltas[a] ?? 0);
    if (o.side === 'buy' ? have(m.quote) < value + fee : have(m.base) < o.amount - 1e-12) {
      // Nothing to pay with or nothing left to sell (an exit sold it first): the broker cancels it.
      Object.assign(
        o,
        closeOut(o, 'canceled', `insufficient ${o.side === 'buy' ? m.quote : m.base} when reached`),
      );
      return false;
    }
    const add = (a: string, v: number) => (deltas[a] = (deltas[a] ?? 0) + v);
    if (o.side === 'buy') {
      add(m.quote, -(value + fee));
      add(m.base, o.amount);
    } else {
      add(m.base, -o.amount);
      add(m.quote, value - fee);
    }
    Object.assign(o, { status: 'closed', filled: o.amount, average: price, feeQuote: fee, resting: [] });
    return true;
  }

  /** Apply a step's fills and cancels to the orders owning the parts; returns the orders changed. */
  private apply(
    orders: PaperOrder[],
    r: StepResult,
    m: MarketInfo,
    deltas: Record<string, number>,
  ): Set<PaperOrder> {
    const owner = new Map<string, PaperOrder>();
    for (const o of orders) for (const p of o.resting) owner.set(p.id, o);
    const changed = new Set<PaperOrder>();
    for (const f of r.fills) {
      const o = owner.get(f.id)!;
      this.fill(o, f.price, m, deltas);
      changed.add(o);
    }
    const after = new Map(r.resting.map((p) => [p.id, p]));
    for (const o of orders) {
      if (o.status !== 'open') continue;
      const parts = o.resting.filter((p) => after.has(p.id)).map((p) => after.get(p.id)!);
      if (JSON.stringify(parts) === JSON.stringify(o.resting)) continue;
      changed.add(o);
      if (parts.length) o.resting = parts;
      else {
        const why = r.canceled.find((c) => owner.get(c.id) === o)?.reason;
        Object.assign(
          o,
          closeOut(
            o,
            'canceled',
            why === 'expired' ? 'expired at the close (DAY)' : 'canceled: the other leg filled',
          ),
        );
      }
    }
    return changed;
  }

  /** One price step for the symbols given (default: every symbol with a resting order), fill rules applied. */
  private async stepMarkets(now: number, only?: string[]): Promise<boolean> {
    const open = this.journal.paperOpenOrders() as PaperOrder[];
    const bySymbol = new Map<string, PaperOrder[]>();
    for (const o of open)
      if (o.resting?.length) bySymbol.set(o.market, [...(bySymbol.get(o.market) ?? []), o]);
    const symbols = only ?? [...bySymbol.keys()];
    if (!symbols.length) return false;
    const mt = this.marketNow(now);
    const want = symbols.map((symbol) => ({
      symbol,
      anchor: this.anchors.get(symbol) ?? bySymbol.get(symbol)?.at(-1)?.refPrice ?? 0,
    }));
    const steps = await this.nextSteps(
      want.filter((w) => w.anchor > 0),
      mt,
    );
    const session = this.session(mt);
    const slip = this.config.paper.slippage_pct / 100;
    const deltas: Record<string, number> = {};
    const changed = new Set<PaperOrder>();
    for (const [symbol, p] of steps) {
      this.lastStep.set(symbol, p);
      const orders = bySymbol.get(symbol);
      const m = this.market(symbol);
      if (!orders || !m) continue;
      const r = step(
        orders.flatMap((o) => o.resting),
        p,
        session,
        slip,
      );
      for (const o of this.apply(orders, r, m, deltas)) changed.add(o);
    }
    if (!changed.size) return false;
    this.journal.writePaperOrders(
      [...changed].map((o) => ({ id: o.clientOrderId, body: o, isNew: false })),
      deltas,
    );
    return true;
  }

  /**
   * The next price step: crypto paper with an exchange configured (exchange.id, public data) steps at its
   * ticker, as its placements fill; else paper.prices.
   */
  private async nextSteps(
    want: { symbol: string; anchor: number }[],
    t: number,
  ): Promise<Map<string, PriceStep>> {
    if (!this.sourceLoaded || !this.config.paper.use_exchange_ticker) return this.prices.next(want, t);
    const out = new Map<string, PriceStep>();
    for (const { symbol } of want) {
      const p = await this.source!.ticker(symbol).catch(() => undefined);
      if (p !== undefined && p > 0) out.set(symbol, { t, o: p, h: p, l: p, c: p });
    }
    return out;
  }

  tick(now: number = this.now()): Promise<boolean> {
    return this.serial(() => this.stepMarkets(now));
  }

  /** The order as the executor sees it; a bracket's legs with their own states. */
  private view(o: PaperOrder): OrderState {
    const base: OrderState = {
      clientOrderId: o.clientOrderId,
      exchangeOrderId: o.exchangeOrderId,
      status: o.status,
      amount: o.amount,
      filled: o.filled,
      average: o.average,
      feeQuote: o.feeQuote,
      feeBase: o.feeBase,
    };
    if (!o.legIds?.length) return base;
    const legs: LegState[] = [];
    for (const id of o.legIds) {
      const l = this.journal.paperOrder(id) as PaperOrder | undefined;
      if (l?.leg) legs.push({ leg: l.leg, price: l.level!, state: this.view(l) });
    }
    return { ...base, bracketLegs: legs };
  }

  cancelOwnOrder(clientOrderId: string): Promise<void> {
    return this.serial(async () => {
      const o = this.journal.paperOrder(clientOrderId) as PaperOrder | undefined;
      if (o?.status !== 'open') return;
      // A bracket's legs go with their entry (as at Alpaca).
      const legs = (o.legIds ?? [])
        .map((id) => this.journal.paperOrder(id) as PaperOrder | undefined)
        .filter((l): l is PaperOrder => l?.status === 'open');
      this.journal.writePaperOrders(
        [o, ...legs].map((x) => ({
          id: x.clientOrderId,
          body: closeOut(x, 'canceled', 'canceled'),
          isNew: false,
        })),
        {},
      );
    });
  }

  /** Replace a resting limit (the paper twin of Alpaca's PATCH): a new order `next` at `price`, the old one ends. */
  replaceOrder(r: { current: string; next: string; price: number }): Promise<OrderState> {
    return this.serial(async () => {
      const o = this.journal.paperOrder(r.current) as PaperOrder | undefined;
      const part = o?.resting?.find((p) => p.id === o.clientOrderId);
      if (!o || o.status !== 'open' || part?.type !== 'limit' || o.legIds?.length)
        throw new ExchangeRejected(
          'invalid_order',
          `paper: order ${r.current} is not a replaceable open limit`,
        );
      const next: PaperOrder = {
        ...o,
        clientOrderId: r.next,
        exchangeOrderId: `paper-${r.next}`,
        resting: [{ ...part, id: r.next, limit: r.price }],
      };
      this.journal.writePaperOrders(
        [
          { id: o.clientOrderId, body: closeOut(o, 'canceled', `replaced by ${r.next}`), isNew: false },
          { id: r.next, body: next, isNew: true },
        ],
        {},
      );
      return this.view(next);
    });
  }

  /** The quote the fill rules last saw (a price source with one), else its last price on both sides. */
  async bestQuote(symbol: string): Promise<{ bid: number; ask: number } | undefined> {
    const p = this.lastStep.get(symbol);
    return p ? { bid: p.bid ?? p.c, ask: p.ask ?? p.c } : undefined;
  }

  async fetchOrder(clientOrderId: string): Promise<OrderState | undefined> {
    const o = this.journal.paperOrder(clientOrderId) as PaperOrder | undefined;
    return o ? this.view(o) : undefined;
  }

  async close(): Promise<void> {
    await this.source?.close();
  }
}

/** A simulated order as the journal keeps it (paper_orders.body): its state, and its parts still resting. */
interface PaperOrder extends OrderState {
  market: string;
  side: 'buy' | 'sell';
  refPrice: number;
  /** Parts still resting at the simulated broker (fill-rules RestingOrder); empty once final. */
  resting: RestingOrder[];
  error?: string | undefined;
  /** A bracket entry: the ids of its legs (orders of their own). */
  legIds?: string[] | undefined;
  /** A bracket leg: which, and its level. */
  leg?: LegState['leg'] | undefined;
  level?: number | undefined;
}

interface Change {
  order: PaperOrder;
  isNew: boolean;
}

function newOrder(req: OrderRequest, exchangeOrderId: string, resting: RestingOrder[]): PaperOrder {
  return {
    clientOrderId: req.clientOrderId,
    exchangeOrderId,
    status: 'open',
    amount: req.amount,
    filled: 0,
    average: undefined,
    feeQuote: 0,
    feeBase: 0,
    market: req.market,
    side: req.side,
    refPrice: req.refPrice,
    resting,
  };
}

function closeOut(o: PaperOrder, status: 'canceled', error: string): PaperOrder {
  return { ...o, status, resting: [], error };
}

/** The resting parts of one request (ids: the order's own, or `<id>:tp` / `<id>:sl` for an OCO pair). */
function partsOf(req: OrderRequest, expiresAt: number | undefined): RestingOrder[] {
  const id = req.clientOrderId;
  const ext = req.params?.extendedHours ?? false;
  const base = { side: req.side, amount: req.amount, extendedHours: ext, expiresAt, state: 'open' as const };
  const p = req.params;
  if (p?.orderClass === 'oco' && p.takeProfit !== undefined && p.stopLoss !== undefined)
    return [
      { ...base, id: `${id}:tp`, type: 'limit', limit: p.takeProfit, oco: id },
      { ...base, id: `${id}:sl`, type: 'stop', stop: p.stopLoss, oco: id },
    ];
  if (req.trigger?.kind === 'stop_loss')
    return [
      req.type === 'limit' && req.price !== undefined
        ? { ...base, id, type: 'stop_limit', stop: req.trigger.price, limit: req.price }
        : { ...base, id, type: 'stop', stop: req.trigger.price },
    ];
  // A take-profit: a resting limit at its trigger level (reached there, it sells no lower than it).
  if (req.trigger?.kind === 'take_profit') return [{ ...base, id, type: 'limit', limit: req.trigger.price }];
  return [
    req.type === 'limit' && req.price !== undefined
      ? { ...base, id, type: 'limit', limit: req.price }
      : { ...base, id, type: 'market' },
  ];
}

/** A bracket's two legs, orders of their own (ids `<entry id>:tp` / `:sl`), held until the entry fills. */
function bracketLegs(req: OrderRequest, entry: PaperOrder, expiresAt: number | undefined): PaperOrder[] {
  const p = req.params;
  if (p?.orderClass !== 'bracket' || p.takeProfit === undefined || p.stopLoss === undefined) return [];
  const id = req.clientOrderId;
  const side = req.side === 'buy' ? 'sell' : 'buy';
  const base = {
    side,
    amount: req.amount,
    extendedHours: false,
    expiresAt,
    oco: id,
    parent: id,
    state: 'held',
  } as const;
  const leg = (kind: 'tp' | 'sl', part: RestingOrder, level: number): PaperOrder => ({
    ...newOrder({ ...req, clientOrderId: `${id}:${kind}`, side }, `paper-${id}:${kind}`, [part]),
    leg: kind === 'tp' ? 'bracket_tp' : 'bracket_sl',
    level,
  });
  const legs = [
    leg('tp', { ...base, id: `${id}:tp`, type: 'limit', limit: p.takeProfit }, p.takeProfit),
    leg('sl', { ...base, id: `${id}:sl`, type: 'stop', stop: p.stopLoss }, p.stopLoss),
  ];
  entry.legIds = legs.map((l) => l.clientOrderId);
  return legs;
}

/** What Alpaca refuses outright (docs/equities.md), for paper mode: undefined when the order is acceptable. */
export function equityRefusal(req: OrderRequest, m: MarketInfo): string | undefined {
  const p = req.params;
  const fractional = !Number.isInteger(req.amount);
  if (fractional && !m.equity?.fractionable) return `asset "${m.symbol}" is not fractionable`;
  if (fractional && p && (p.orderClass !== 'simple' || p.timeInForce !== 'day'))
    return 'fractional orders must be simple DAY orders';
  if (p?.extendedHours && (req.type !== 'limit' || p.orderClass !== 'simple'))
    return 'extended hours order must be DAY or GTC limit orders';
  return undefined;
}
