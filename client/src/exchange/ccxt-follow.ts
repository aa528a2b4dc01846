import { z } from 'zod';
import { backoffDelay, type ReconnectPolicy } from '@catalyst-signal/shared';
import type { CcxtAdapter } from './ccxt.js';
import { fillKey, type BrokerEvent, type BrokerEventSource, type BrokerFollow } from './types.js';

/**
 * A crypto exchange's order events through ccxt (docs/broker-events.md, "Crypto spot"). Where the ccxt.pro class
 * has watchMyTrades and watchOrders (Binance: the spot user-data stream), both are watched and each item's raw
 * report (`info`: Binance's executionReport) is parsed here: watchMyTrades keeps every execution (its own trade
 * id, quantity, price, commission) where watchOrders keeps only the order's latest state, so two executions that
 * arrive between two awaits are one order update there; watchOrders adds what is no trade (new, canceled,
 * expired, rejected). Both map the same report to the same key, so whichever arrives second is a duplicate. No
 * stream replays: eventsSince reads orders and trades back over REST. An exchange whose class cannot stream is
 * polled with eventsSince every `exchange.order_poll_ms`.
 */

/** At most this many orders' trades are read per catch-up (the rest wait for the next one). */
export const MAX_ORDER_READS = 20;
/** How far back a read-back reaches at most (Binance's 24 h window for allOrders/myTrades, less an hour). */
export const READ_BACK_MAX_MS = 23 * 3_600_000;

const num = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : Number(v)))
  .refine((v) => v === undefined || Number.isFinite(v), 'not a number');

/** Binance spot's executionReport (user-data stream), the fields a BrokerEvent needs. */
const ExecutionReport = z.looseObject({
  e: z.literal('executionReport'),
  s: z.string().min(1),
  c: z.string(),
  C: z.string().nullish(),
  S: z.enum(['BUY', 'SELL']),
  x: z.string().min(1),
  X: z.string().min(1),
  i: z.union([z.number(), z.string()]),
  l: num,
  z: num,
  L: num,
  n: num,
  N: z.string().nullish(),
  T: z.number().optional(),
  E: z.number().optional(),
  t: z.union([z.number(), z.string()]).optional(),
  Z: num,
});

const STATUS: Record<string, BrokerEvent['status']> = {
  NEW: 'open',
  PARTIALLY_FILLED: 'open',
  PENDING_NEW: 'open',
  PENDING_CANCEL: 'open',
  FILLED: 'closed',
  CANCELED: 'canceled',
  EXPIRED: 'canceled',
  EXPIRED_IN_MATCH: 'canceled',
  REJECTED: 'rejected',
};

/** What a report's execution type and status are called in order_events (Alpaca's words, shared by both venues). */
function eventWord(x: string, status: string): string {
  if (x === 'TRADE') return status === 'FILLED' ? 'fill' : 'partial_fill';
  if (x === 'TRADE_PREVENTION') return 'expired';
  return x.toLowerCase();
}

export interface MarketAssets {
  symbol: string;
  base: string;
  quote: string;
}

/**
 * One executionReport -> a BrokerEvent, or undefined when it is not one (another event, a malformed frame).
 * `fees`: the order's cumulative fees after this execution, as the caller counted them (undefined: not sure).
 */
export function executionEvent(
  raw: unknown,
  market: (id: string) => MarketAssets | undefined,
  source: BrokerEvent['source'],
  fees?: { quote: number; base: number },
): BrokerEvent | undefined {
  const r = ExecutionReport.safeParse(raw);
  if (!r.success) return undefined;
  const x = r.data;
  const m = market(x.s);
  if (!m) return undefined;
  // A cancel's report names the cancel request in c and the cancelled order in C.
  const clientOrderId = x.C ? x.C : x.c;
  const filled = x.z ?? 0;
  const event = eventWord(x.x, x.X);
  const trade = x.x === 'TRADE';
  return {
    key: trade ? fillKey(clientOrderId, filled) : `${event}:${clientOrderId}`,
    event,
    orderId: String(x.i),
    clientOrderId,
    market: m.symbol,
    side: x.S === 'BUY' ? 'buy' : 'sell',
    status: STATUS[x.X] ?? 'open',
    filled,
    average: filled > 0 && x.Z !== undefined ? x.Z / filled : undefined,
    executionId: trade && x.t !== undefined ? String(x.t) : undefined,
    qty: trade ? x.l : undefined,
    price: trade ? x.L : undefined,
    feeQuote: trade ? fees?.quote : undefined,
    feeBase: trade ? fees?.base : undefined,
    at: x.T ?? x.E ?? Date.now(),
    legs: [],
    source,
  };
}

/**
 * Per order, the executions the stream delivered and their fees. An execution's cumulative fees are known only
 * when every execution of its order up to it was seen (their quantities add up to its `z`), whatever order the
 * two watch loops delivered them in; otherwise they are left to the REST read-back, which sums the order's trades.
 */
export class FeeCounter {
  private readonly orders = new Map<
    string,
    Map<string, { z: number; l: number; quote: number; base: number }>
  >();

  add(
    raw: unknown,
    m: (id: string) => MarketAssets | undefined,
  ): { quote: number; base: number } | undefined {
    const r = ExecutionReport.safeParse(raw);
    if (!r.success || r.data.x !== 'TRADE') return undefined;
    const x = r.data;
    const market = m(x.s);
    if (!market) return undefined;
    const key = String(x.i);
    const execs =
      this.orders.get(key) ?? new Map<string, { z: number; l: number; quote: number; base: number }>();
    const z = x.z ?? 0;
    execs.set(String(x.t), {
      z,
      l: x.l ?? 0,
      quote: x.N === market.quote ? (x.n ?? 0) : 0,
      base: x.N === market.base ? (x.n ?? 0) : 0,
    });
    this.orders.delete(key);
    this.orders.set(key, execs);
    // Bounded: the orders trading now are counted; the least recently traded are forgotten first.
    if (this.orders.size > 1000) this.orders.delete(this.orders.keys().next().value!);
    let qty = 0;
    let quote = 0;
    let base = 0;
    for (const e of execs.values())
      if (e.z <= z + 1e-12) {
        qty += e.l;
        quote += e.quote;
        base += e.base;
      }
    return Math.abs(qty - z) < 1e-9 ? { quote, base } : undefined;
  }
}

type Json = Record<string, unknown>;
interface CcxtOrder {
  id?: string;
  clientOrderId?: string;
  symbol?: string;
  side?: string;
  status?: string;
  filled?: number;
  timestamp?: number;
  lastTradeTimestamp?: number;
  info?: Json;
}
interface CcxtTrade {
  id?: string;
  order?: string;
  symbol?: string;
  side?: string;
  amount?: number;
  price?: number;
  timestamp?: number;
  fee?: { cost?: number; currency?: string };
}

interface WatchingExchange {
  has: Record<string, unknown>;
  id: string;
  watchMyTrades(): Promise<{ info?: unknown }[]>;
  watchOrders(): Promise<{ info?: unknown }[]>;
  authenticate?(): Promise<unknown>;
  fetchOrders(symbol: string, since?: number): Promise<CcxtOrder[]>;
  fetchOrder(id: string, symbol: string): Promise<CcxtOrder>;
  fetchMyTrades(symbol: string, since?: number, limit?: number, params?: Json): Promise<CcxtTrade[]>;
  market(symbol: string): { id: string };
  markets_by_id?: Record<string, { symbol: string; base: string; quote: string }[]>;
}

const REST_STATUS: Record<string, BrokerEvent['status']> = {
  open: 'open',
  closed: 'closed',
  canceled: 'canceled',
  expired: 'canceled',
  rejected: 'rejected',
};

export interface CcxtEventsOptions {
  /** Markets to read back: those this client holds or has an open order in. */
  symbols: () => string[];
  reconnect: ReconnectPolicy;
  /** Without a stream: poll interval (exchange.order_poll_ms). */
  pollMs: number;
  log?: { warn: (o: object, msg: string) => void; info?: (o: object, msg: string) => void } | undefined;
}

/** The BrokerEventSource of a live ccxt crypto adapter. */
export function ccxtEventSource(adapter: CcxtAdapter, o: CcxtEventsOptions): BrokerEventSource {
  // The reading instance: the read-backs wait in the reads' throttle queue, never in front of an order.
  const ex = adapter.reads as unknown as WatchingExchange;
  const assets = (id: string): MarketAssets | undefined => {
    const m = ex.markets_by_id?.[id]?.[0];
    return m ? { symbol: m.symbol, base: m.base, quote: m.quote } : undefined;
  };
  const streams = Boolean(ex.has['watchMyTrades'] && ex.has['watchOrders']);
  return {
    name: streams ? `${ex.id} user data (ccxt watchMyTrades/watchOrders)` : `${ex.id} REST poll`,
    ...(streams ? { follow: (sink) => watch(ex, assets, o, sink) } : { pollMs: o.pollMs }),
    eventsSince: (since) => readBack(ex, adapter, o.symbols(), since),
  };
}

function watch(
  ex: WatchingExchange,
  assets: (id: string) => MarketAssets | undefined,
  o: CcxtEventsOptions,
  sink: Parameters<NonNullable<BrokerEventSource['follow']>>[0],
): BrokerFollow {
  let closed = false;
  let live = false;
  let attempt = 0;
  let session = 0;
  const fees = new FeeCounter();
  let wake: (() => void) | undefined;

  const deliver = (items: { info?: unknown }[]) => {
    for (const item of items) {
      const e = executionEvent(item.info, assets, 'stream', fees.add(item.info, assets));
      if (e) sink.onEvent(e);
    }
  };
  // Each watch loop runs until its socket fails; the session ends at the first failure.
  const loop = async (read: () => Promise<{ info?: unknown }[]>, mine: number) => {
    while (!closed && mine === session) deliver(await read());
  };
  const run = async () => {
    while (!closed) {
      const mine = ++session;
      try {
        // Subscribed once authenticate resolves (Binance: userDataStream.subscribe answered): catch up from here.
        await ex.authenticate?.();
        if (closed) return;
        live = true;
        attempt = 0;
        sink.onLive();
        await Promise.race([loop(() => ex.watchMyTrades(), mine), loop(() => ex.watchOrders(), mine)]);
      } catch (e) {
        if (closed) return;
        if (live) sink.onDown?.((e as Error).message);
        else o.log?.warn({ err: (e as Error).message }, 'broker stream: subscribing failed');
        live = false;
      }
      if (closed) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoffDelay(attempt++, o.reconnect));
        wake = () => (clearTimeout(t), r());
      });
    }
  };
  const running = run();
  return {
    get up() {
      return live;
    },
    close: async () => {
      closed = true;
      live = false;
      wake?.();
      // The adapter's close() closes ccxt's sockets, which ends the pending watches.
      await Promise.race([running, new Promise((r) => setTimeout(r, 100).unref())]);
    },
  };
}

/**
 * What the exchange did since `since`, over REST, as events with the stream's keys: each order listed since then
 * (new, and its end if it ended), and every execution of each order that traded, numbered by the order's running
 * total so a fill's key is the stream's (order + cumulative quantity) even when the stream never saw it.
 */
async function readBack(
  ex: WatchingExchange,
  adapter: CcxtAdapter,
  symbols: string[],
  since: number,
): Promise<BrokerEvent[]> {
  const out: BrokerEvent[] = [];
  let reads = 0;
  // Binance answers allOrders/myTrades for at most 24 hours from startTime: a first catch-up (no event journaled
  // yet) reads the last 23 hours; an older fill of an order still open is then read back by the executor's reconcile.
  since = Math.max(since, Date.now() - READ_BACK_MAX_MS);
  for (const symbol of [...new Set(symbols)]) {
    const m = adapter.market(symbol);
    if (!m) continue;
    const orders = new Map<string, CcxtOrder>();
    for (const x of await ex.fetchOrders(symbol, since)) if (x.id) orders.set(x.id, x);
    // An order placed before `since` that traded after it (a resting stop) is found through its trades.
    for (const t of await ex.fetchMyTrades(symbol, since)) {
      if (!t.order || orders.has(t.order) || reads >= MAX_ORDER_READS) continue;
      reads++;
      orders.set(t.order, await ex.fetchOrder(t.order, symbol));
    }
    for (const x of orders.values()) {
      const clientOrderId = x.clientOrderId ?? String((x.info ?? {})['clientOrderId'] ?? '');
      const side: BrokerEvent['side'] | undefined =
        x.side === 'buy' || x.side === 'sell' ? x.side : undefined;
      if (!x.id || !clientOrderId || !side) continue;
      const status = REST_STATUS[x.status ?? 'open'] ?? 'open';
      const base = {
        orderId: x.id,
        clientOrderId,
        market: symbol,
        side,
        legs: [],
        source: 'rest' as const,
      };
      out.push({
        ...base,
        key: `new:${clientOrderId}`,
        event: 'new',
        status: 'open',
        filled: 0,
        average: undefined,
        at: x.timestamp ?? since,
      });
      if ((x.filled ?? 0) > 0 && reads < MAX_ORDER_READS) {
        reads++;
        const trades = (await ex.fetchMyTrades(symbol, undefined, undefined, { orderId: x.id }))
          .filter((t) => t.order === x.id)
          .sort((a, b) => Number(a.id) - Number(b.id) || (a.timestamp ?? 0) - (b.timestamp ?? 0));
        let cum = 0;
        let value = 0;
        let feeQuote = 0;
        let feeBase = 0;
        for (const [i, t] of trades.entries()) {
          cum += t.amount ?? 0;
          value += (t.amount ?? 0) * (t.price ?? 0);
          if (t.fee?.currency === m.quote) feeQuote += t.fee.cost ?? 0;
          else if (t.fee?.currency === m.base) feeBase += t.fee.cost ?? 0;
          const last = i === trades.length - 1;
          out.push({
            ...base,
            key: fillKey(clientOrderId, cum),
            event: last && status === 'closed' ? 'fill' : 'partial_fill',
            status: last ? status : 'open',
            filled: cum,
            average: cum > 0 ? value / cum : undefined,
            executionId: t.id,
            qty: t.amount,
            price: t.price,
            feeQuote,
            feeBase,
            at: t.timestamp ?? x.lastTradeTimestamp ?? since,
          });
        }
      }
      if (status === 'canceled' || status === 'rejected')
        out.push({
          ...base,
          key: `${x.status === 'expired' ? 'expired' : status}:${clientOrderId}`,
          event: x.status === 'expired' ? 'expired' : status,
          status,
          filled: x.filled ?? 0,
          average: undefined,
          at: x.lastTradeTimestamp ?? x.timestamp ?? since,
        });
    }
  }
  return out;
}
