import type { Config, VenueKind } from '../config.js';
import { marketTime, type MarketInfo } from '../decide/index.js';
import type { Journal } from '../journal/index.js';
import { defaultMarket } from './markets.js';
import {
  ExchangeRejected,
  type Balances,
  type ExchangeAdapter,
  type OrderRequest,
  type OrderState,
} from './types.js';

/**
 * Simulated exchange. Fills immediately at the exchange ticker when a market source is available, else at the
 * price the decision used (the signal price): paper mode works with no network at all. Orders and balances
 * live in the same journal as live ones, keyed by the same clientOrderId, so a retry or restart can never fill
 * twice and status/history read the same in both modes.
 */
export class PaperAdapter implements ExchangeAdapter {
  readonly kind = 'paper' as const;
  readonly venue: VenueKind;
  readonly quote: string;
  private sourceLoaded = false;

  constructor(
    private readonly journal: Journal,
    private readonly config: Config,
    /** Public market data (no keys), or undefined for fully offline paper trading. */
    private readonly source?: ExchangeAdapter | undefined,
    /** Real time (ms) at which the simulated market clock (paper.market_clock) reads its `start`. */
    readonly clockOrigin: number = Date.now(),
  ) {
    this.venue = config.exchange.venue;
    this.quote = config.exchange.quote.toUpperCase();
    journal.ensurePaperWallet(this.quote, config.paper.starting_balance_quote);
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
   * The simulated broker's clock: market time at real time `now` (paper.market_clock), or `now` itself. Only the
   * trading session is computed from it.
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

  /** Journal and return an order that rests (a protective trigger) or was cancelled, with nothing filled. */
  private unfilled(req: OrderRequest, status: 'open' | 'canceled'): OrderState {
    const order: OrderState = {
      clientOrderId: req.clientOrderId,
      exchangeOrderId: `paper-${req.clientOrderId}`,
      status,
      amount: req.amount,
      filled: 0,
      average: undefined,
      feeQuote: 0,
      feeBase: 0,
    };
    this.journal.putPaperOrder(req.clientOrderId, order, {});
    return order;
  }

  async createOrder(req: OrderRequest): Promise<OrderState> {
    const existing = this.journal.paperOrder(req.clientOrderId) as OrderState | undefined;
    if (existing) return existing;
    const m = this.market(req.market);
    if (!m) throw new ExchangeRejected('bad_symbol', `paper: unknown market ${req.market}`);
    if (this.venue === 'us_equity') {
      // The broker's own refusals, simulated: paper must not accept what Alpaca would refuse.
      const refusal = equityRefusal(req, m);
      if (refusal) throw new ExchangeRejected('invalid_order', `paper: ${refusal}`);
    }
    if (req.trigger || req.params?.orderClass === 'oco') {
      // Recorded as resting; paper mode does not watch prices between signals, so it never triggers.
      return this.unfilled(req, 'open');
    }
    const last = (await this.ticker(req.market)) ?? req.refPrice;
    const slip = this.config.paper.slippage_pct / 100;
    let price = req.side === 'buy' ? last * (1 + slip) : last * (1 - slip);
    if (req.type === 'limit' && req.price !== undefined) {
      // Simulated as immediate-or-cancel: a limit that is not marketable now is cancelled unfilled.
      const marketable = req.side === 'buy' ? price <= req.price : price >= req.price;
      if (!marketable) {
        return this.unfilled(req, 'canceled');
      }
      price = req.side === 'buy' ? Math.min(price, req.price) : Math.max(price, req.price);
    }
    const value = req.amount * price;
    const fee = value * this.config.paper.fee_rate;
    const bal = this.journal.paperBalances();
    const deltas: Record<string, number> = {};
    if (req.side === 'buy') {
      if ((bal[m.quote] ?? 0) < value + fee) {
        throw new ExchangeRejected(
          'insufficient_funds',
          `paper: insufficient ${m.quote} (need ${(value + fee).toFixed(8)})`,
        );
      }
      deltas[m.quote] = -(value + fee);
      deltas[m.base] = req.amount;
    } else {
      if ((bal[m.base] ?? 0) < req.amount - 1e-12)
        throw new ExchangeRejected('insufficient_funds', `paper: insufficient ${m.base}`);
      deltas[m.base] = -req.amount;
      deltas[m.quote] = value - fee;
    }
    const order: OrderState = {
      clientOrderId: req.clientOrderId,
      exchangeOrderId: `paper-${req.clientOrderId}`,
      status: 'closed',
      amount: req.amount,
      filled: req.amount,
      average: price,
      feeQuote: fee,
      feeBase: 0,
    };
    this.journal.putPaperOrder(req.clientOrderId, order, deltas);
    return order;
  }

  async cancelOwnOrder(clientOrderId: string): Promise<void> {
    this.journal.cancelPaperOrder(clientOrderId);
  }

  async fetchOrder(clientOrderId: string): Promise<OrderState | undefined> {
    return this.journal.paperOrder(clientOrderId) as OrderState | undefined;
  }

  async close(): Promise<void> {
    await this.source?.close();
  }
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
