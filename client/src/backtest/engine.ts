import type { Logger } from 'pino';
import { effectiveAction, type Signal } from '@catalyst-signal/shared';
import { MINUTE_MS, type Bar, type MarketData } from '@catalyst-signal/shared/market-data';
import type { Config } from '../config.js';
import { builtinCalendar, mapSymbol, sessionAt } from '../decide/index.js';
import { PaperAdapter } from '../exchange/paper.js';
import { Executor } from '../executor.js';
import { AtOpen } from '../at-open.js';
import { Journal } from '../journal/index.js';
import type { RestingOrder } from '../paper/fill-rules.js';
import { processSignal } from '../pipeline.js';
import { paperVenue } from '../venue/index.js';
import { BarFeed, BarPrices, barEnd, touches } from './bar-feed.js';

/**
 * One backtest: signals through the SAME pipeline as `run` (processSignal -> the venue's pure decision ->
 * executor -> paper broker), in a throwaway in-memory journal, with the paper broker's fills on 1-minute bars
 * (paper/fill-rules.ts, the same rules as paper mode). Between signals the clock jumps from one bar that can
 * change a resting order to the next, so a year of bars costs what the orders touch, not every minute.
 */

export interface BacktestFill {
  t: number;
  market: string;
  side: 'buy' | 'sell';
  amount: number;
  price: number;
  fee: number;
}

export interface BacktestTrade {
  seq: number;
  market: string;
  catalyst: string;
  session: string;
  entryAt: number;
  entryPrice: number;
  exitAt?: number | undefined;
  exitPrice?: number | undefined;
  amount: number;
  /** Realised P&L, fees included (open at the end: marked at the last close). */
  pnl: number;
  open: boolean;
}

export interface BacktestRun {
  signals: number;
  decisions: { trade: number; skip: number; reject: number };
  byReason: Record<string, number>;
  trades: BacktestTrade[];
  fills: BacktestFill[];
  startingBalance: number;
  endingEquity: number;
  fees: number;
  maxDrawdown: number;
  /** Equity at the end of each New York day with activity, [ms, equity]. */
  curve: [number, number][];
  /** Signals published after the fact (ingested over an hour after classification): decided as if on time. */
  backfilled: number;
  /** Symbols traded without a single bar in the window (fills at the signal price). */
  noBars: string[];
}

export interface EngineOptions {
  config: Config;
  signals: readonly Signal[];
  market: MarketData;
  from: number;
  to: number;
  log: Logger;
  onProgress?: (p: { done: number; total: number }) => void;
  progressEvery?: number;
}

/** A history published later than it happened: decide it at its classification, as a live client would have. */
const LATE_MS = 3_600_000;

interface OpenBook {
  amount: number;
  cost: number;
  trade: BacktestTrade;
}

export async function runBacktest(o: EngineOptions): Promise<BacktestRun> {
  // Paper, on bars, never a simulated market clock: market time is the bars' time. Nobody answers approvals
  // here: an entry that would wait for a yes is placed as if approved (ASSUMPTIONS says so).
  const config: Config = {
    ...o.config,
    mode: 'paper',
    paper: { ...o.config.paper, market_clock: undefined },
    approval: { ...o.config.approval, mode: 'off' },
  };
  const journal = Journal.open(':memory:');
  let clock = o.from;
  const now = () => clock;
  const feed = new BarFeed(o.market, o.to);
  const prices = new BarPrices(feed);
  const exchange = new PaperAdapter(journal, config, undefined, 0, { prices, now });
  const executor = new Executor(journal, exchange, config, o.log, now);
  const deps = {
    config,
    journal,
    venue: paperVenue({ config, journal, log: o.log, now }, exchange),
    executor,
    log: o.log,
    now,
  };
  const atOpen = new AtOpen(deps);
  const quote = config.exchange.quote.toUpperCase();
  /** Signals whose orders the open's work may place (held entries, extended-hours entries to protect). */
  const openWork = new Map<string, Signal>();
  const watch = new Map<string, { seq: number; catalyst: string; session: string }>();
  const fills: BacktestFill[] = [];
  const trades: BacktestTrade[] = [];
  const books = new Map<string, OpenBook>();
  const curveByDay = new Map<string, [number, number]>();
  let peak = config.paper.starting_balance_quote;
  let maxDrawdown = 0;
  const noBars = new Set<string>();

  /**
   * What rests at the simulated broker, by symbol, kept from the orders watched (one indexed read per order of a
   * symbol whose orders changed), and where each symbol's next touching bar is (valid until its orders change).
   */
  const ordersOf = new Map<string, Set<string>>();
  const resting = new Map<string, RestingOrder[]>();
  const nextTouch = new Map<string, { bar: Bar | undefined; upTo: number }>();
  const refresh = (symbol: string) => {
    const parts: RestingOrder[] = [];
    for (const id of ordersOf.get(symbol) ?? []) {
      const x = journal.paperOrder(id) as { status: string; resting?: RestingOrder[] } | undefined;
      if (x?.status === 'open' && x.resting?.length) parts.push(...x.resting);
    }
    nextTouch.delete(symbol);
    if (parts.length) resting.set(symbol, parts);
    else {
      resting.delete(symbol);
      ordersOf.delete(symbol);
    }
  };

  const equity = () => {
    let e = journal.paperBalance(quote);
    for (const [market, b] of books) e += b.amount * (prices.lastClose.get(market) ?? b.cost / b.amount);
    return e;
  };
  const sample = () => {
    const e = equity();
    peak = Math.max(peak, e);
    maxDrawdown = Math.max(maxDrawdown, peak - e);
    curveByDay.set(new Date(clock - 5 * 3_600_000).toISOString().slice(0, 10), [clock, e]);
  };

  // Orders watched until final: a fill becomes a BacktestFill at the clock's time and moves the round trip.
  const poll = () => {
    for (const [id, meta] of watch) {
      const x = journal.paperOrder(id) as
        | {
            status: string;
            filled: number;
            average?: number;
            feeQuote: number;
            market: string;
            side: 'buy' | 'sell';
          }
        | undefined;
      if (!x || x.status === 'open') continue;
      watch.delete(id);
      if (!(x.filled > 0) || x.average === undefined) continue;
      const f = {
        t: clock,
        market: x.market,
        side: x.side,
        amount: x.filled,
        price: x.average,
        fee: x.feeQuote,
      };
      fills.push(f);
      prices.lastClose.set(f.market, prices.lastClose.get(f.market) ?? f.price);
      const book = books.get(f.market);
      if (f.side === 'buy') {
        if (book) {
          book.amount += f.amount;
          book.cost += f.amount * f.price + f.fee;
          book.trade.amount += f.amount;
        } else {
          const trade: BacktestTrade = {
            seq: meta.seq,
            market: f.market,
            catalyst: meta.catalyst,
            session: meta.session,
            entryAt: f.t,
            entryPrice: f.price,
            amount: f.amount,
            pnl: 0,
            open: true,
          };
          trades.push(trade);
          books.set(f.market, { amount: f.amount, cost: f.amount * f.price + f.fee, trade });
        }
      } else if (book) {
        const part = Math.min(1, f.amount / book.amount);
        const cost = book.cost * part;
        book.trade.pnl += f.amount * f.price - f.fee - cost;
        book.amount -= f.amount;
        book.cost -= cost;
        if (book.amount <= 1e-9) {
          Object.assign(book.trade, { open: false, exitAt: f.t, exitPrice: f.price });
          books.delete(f.market);
        }
      }
    }
  };

  const sessionKind = (t: number) => sessionAt(t, builtinCalendar(t - 86_400_000, 9)).kind;
  const watchSignal = (s: Signal) => {
    const meta = { seq: s.seq, catalyst: s.catalyst, session: sessionKind(clock) };
    for (const i of journal.intentsFor(s.epoch, s.seq))
      for (const id of [i.client_order_id, `${i.client_order_id}:tp`, `${i.client_order_id}:sl`]) {
        const x = journal.paperOrder(id) as { market: string } | undefined;
        if (!x) continue;
        if (!watch.has(id)) watch.set(id, meta);
        const set = ordersOf.get(x.market) ?? new Set();
        ordersOf.set(x.market, set.add(id));
      }
  };

  /** The first bar of `symbol` that ends before `until` and can change its resting orders (cached). */
  const touchBefore = async (symbol: string, parts: RestingOrder[], until: number) => {
    const c = nextTouch.get(symbol);
    if (c && (c.bar !== undefined || c.upTo >= until))
      return c.bar && barEnd(c.bar) < until ? c.bar : undefined;
    const from = Math.max(prices.from(symbol), (c?.upTo ?? -Infinity) - MINUTE_MS);
    const b = await feed.first(symbol, from, until, (bar) => barEnd(bar) < until && touches(parts, bar));
    const bar = b && barEnd(b) < until ? b : undefined;
    nextTouch.set(symbol, { bar, upTo: until });
    // Days already looked past are never read again: a year of bars must not pile up in memory.
    feed.forget(symbol, Math.min(bar?.t ?? until, until) - MINUTE_MS);
    return bar;
  };

  /** The regular open's work (held signals decided again, extended-hours fills protected), as `run` does it. */
  const openAt = async (t: number) => {
    clock = t;
    // What the open places meets the first trade of the session, not a pre-market bar never stepped (none of
    // them touched a resting order: advance() stops at the open only when nothing touched before it).
    for (const s of openWork.values()) prices.skipTo(mapSymbol(s.symbol, config.exchange), t);
    prices.placing = true;
    await atOpen.check();
    prices.placing = false;
    // At a regular open everything held is decided and everything due protected: nothing waits for the next.
    for (const s of openWork.values()) watchSignal(s);
    openWork.clear();
    poll();
    for (const symbol of ordersOf.keys()) refresh(symbol);
  };

  /** Step every bar that can change a resting order, oldest first, up to (not including) `until`. */
  const advance = async (until: number) => {
    for (;;) {
      let next: number | undefined;
      const touched: [string, Bar][] = [];
      for (const [symbol, parts] of resting) {
        const b = await touchBefore(symbol, parts, until);
        if (!b) continue;
        touched.push([symbol, b]);
        next = Math.min(next ?? Infinity, barEnd(b));
      }
      const open = openWork.size ? nextOpen(clock) : undefined;
      if (open !== undefined && open < until && open <= (next ?? Infinity)) {
        await openAt(open);
        continue;
      }
      if (next === undefined) {
        // Nothing touched before `until`: those bars are never stepped.
        for (const symbol of resting.keys()) prices.skipTo(symbol, until - MINUTE_MS + 1);
        return;
      }
      const at = next;
      // The step of each symbol is its touching bar alone; bars before it changed nothing.
      for (const [symbol, b] of touched)
        prices.skipTo(symbol, barEnd(b) === at ? b.t : Math.min(b.t, at + 1));
      for (const symbol of resting.keys())
        if (!touched.some(([s]) => s === symbol)) prices.skipTo(symbol, at + 1);
      clock = at;
      if (await exchange.tick(at)) {
        // As `run` does after a paper step: the journal's intents learn the fills (positions, protection).
        await executor.reconcileAll();
        poll();
        sample();
      }
      for (const [symbol, b] of touched) if (barEnd(b) === at) refresh(symbol);
    }
  };

  // Each signal's instant parsed once, not at every comparison of the sort.
  const signals = o.signals
    .map((s) => ({ s, at: decideAt(s) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.s);
  let backfilled = 0;
  const every = o.progressEvery ?? 1000;
  let done = 0;
  try {
    for (const raw of signals) {
      const at = decideAt(raw);
      if (at < o.from || at >= o.to) continue;
      const late = Date.parse(raw.ingested_at) - Date.parse(raw.classified_at) > LATE_MS;
      if (late) backfilled++;
      const s: Signal = late ? { ...raw, ingested_at: raw.classified_at } : raw;
      await advance(at);
      clock = at;
      const market = mapSymbol(s.symbol, config.exchange);
      prices.skipTo(market, at);
      prices.placing = true;
      const out = await processSignal(deps, s, { ok: true }, at);
      prices.placing = false;
      if (out.decision.retryAt !== undefined) openWork.set(`${s.epoch}/${s.seq}`, s);
      if (out.decision.verdict === 'trade') {
        watchSignal(s);
        // An extended-hours entry with levels is protected at the open (a leg of its own).
        if (sessionKind(at) !== 'regular') openWork.set(`${s.epoch}/${s.seq}`, s);
        if (!prices.lastClose.has(market) && !(await feed.first(market, at, o.to))) noBars.add(market);
        poll();
        // An exit cancels the symbol's protective orders: every symbol the decision placed in is looked at again.
        for (const leg of out.decision.legs) refresh(leg.market);
        // Equity moves only with fills and marks: sampled after trades and price steps, not after every skip.
        sample();
      }
      feed.forget(market, at - 86_400_000);
      if (++done % every === 0) o.onProgress?.({ done, total: signals.length });
    }
    await advance(o.to);
    clock = o.to;
    poll();
    // Whatever is still held is marked at its last close (unrealised), and counted as open.
    for (const [market, b] of books) {
      const close = (await feed.last(market, b.trade.entryAt, o.to))?.c;
      if (close !== undefined) prices.lastClose.set(market, close);
      const mark = prices.lastClose.get(market) ?? b.cost / b.amount;
      b.trade.pnl += b.amount * mark - b.cost;
    }
    sample();
    o.onProgress?.({ done, total: signals.length });
    const byReason: Record<string, number> = {};
    const decisions = { trade: 0, skip: 0, reject: 0 };
    for (const r of journal.reasonCounts()) {
      byReason[r.reason] = r.n;
      decisions[r.verdict as keyof typeof decisions] += r.n;
    }
    return {
      signals: done,
      decisions,
      byReason,
      trades,
      fills,
      startingBalance: config.paper.starting_balance_quote,
      endingEquity: equity(),
      fees: fills.reduce((a, f) => a + f.fee, 0),
      maxDrawdown,
      curve: [...curveByDay.values()],
      backfilled,
      noBars: [...noBars],
    };
  } finally {
    journal.close();
  }
}

/** The next regular open strictly after `t`. */
function nextOpen(t: number): number | undefined {
  return sessionAt(t, builtinCalendar(t - 86_400_000, 12)).nextRegularOpen;
}

/** When a signal is decided: on receipt, or at its classification when it was published after the fact. */
export function decideAt(s: Pick<Signal, 'ingested_at' | 'classified_at'>): number {
  const ing = Date.parse(s.ingested_at);
  const cls = Date.parse(s.classified_at);
  return ing - cls > LATE_MS ? cls : ing;
}

/** "Every enter signal, no filters": the same config with filters and risk limits opened wide. */
export function unfiltered(c: Config): Config {
  return {
    ...c,
    filters: {
      ...c.filters,
      symbols_allow: [],
      symbols_deny: [],
      catalysts: [],
      directions: ['long', 'short'],
      min_confidence: 0,
      max_signal_age_ms: 7 * 86_400_000,
      max_price_drift_pct: undefined,
    },
    risk: {
      ...c.risk,
      max_open_positions: 1_000_000,
      max_exposure_per_symbol_quote: 1e12,
      max_total_exposure_quote: 1e12,
      max_daily_loss_quote: 1e12,
      max_orders_per_day: 1_000_000,
      cooldown_per_symbol_ms: 0,
    },
  } as Config;
}

export const isEnter = (s: Signal) => effectiveAction(s) === 'enter';
