import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { barsRoute, EmuBars, type EmuBarsOptions } from './bars.js';
import { replaceOrder } from './replace.js';
import { Book, isOpen } from './book.js';
import { MarketCalendar, nyParts, nyToMs } from './clock.js';
import { activityJson, TradeStream } from './stream.js';
import { accountJson, assetJson, orderJson, positionJson, quoteJson, snapshotJson } from './json.js';
import {
  AlpacaReply,
  notFound,
  type EmuAccountSettings,
  type EmuAsset,
  type EmuOrder,
  type EmuQuote,
} from './types.js';

/**
 * Alpaca trading + market-data REST emulator on 127.0.0.1 (port 0) for the REAL ccxt.alpaca class. One base URL
 * serves both APIs (their paths do not collide). Test controls move the clock, the quotes and the fills; fault
 * controls drop, fail or delay replies, before or after the request took effect.
 */

export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown> | undefined;
  status: number;
  /** When the request's first byte arrived (performance.timeOrigin + performance.now(), ms): latency benchmarks. */
  at: number;
  /** When it was answered (same clock); absent while held or when dropped. A late answer may find no one waiting. */
  repliedAt?: number;
}

export interface Fault {
  /** "METHOD /path" prefix, e.g. "POST /v2/orders". */
  match: string;
  /** drop: close the socket without a reply; status: answer `status`; delay: answer after `ms`. */
  kind: 'drop' | 'status' | 'delay';
  /** before: the request has no effect; after (default): it takes effect and only the reply is lost/late. */
  when?: 'before' | 'after';
  status?: number;
  ms?: number;
  count?: number;
}

export interface AlpacaEmulatorOptions {
  keyId?: string;
  secret?: string;
  assets?: EmuAsset[];
  account?: Partial<EmuAccountSettings>;
  /** Initial "now" in New York wall time (default Monday 2026-11-23 10:00, regular session). */
  now?: string;
  holidays?: string[];
  earlyCloses?: string[];
  /** Market-data bars: seed, halts, splits, calls per minute (alpaca/bars.ts). */
  bars?: EmuBarsOptions;
}

export const DEFAULT_ASSETS: EmuAsset[] = [
  {
    symbol: 'AAPL',
    exchange: 'NASDAQ',
    status: 'active',
    tradable: true,
    marginable: true,
    shortable: true,
    easy_to_borrow: true,
    fractionable: true,
    attributes: ['fractional_eh_enabled', 'has_options'],
    price: 200,
  },
  {
    symbol: 'PNNY',
    name: 'Penny Catalyst Corp',
    exchange: 'NASDAQ',
    status: 'active',
    tradable: true,
    marginable: false,
    shortable: false,
    easy_to_borrow: false,
    fractionable: false,
    attributes: [],
    price: 0.5123,
  },
  {
    symbol: 'LOWP',
    name: 'Low Price Biotech Inc',
    exchange: 'NYSE',
    status: 'active',
    tradable: true,
    marginable: true,
    shortable: false,
    easy_to_borrow: false,
    fractionable: false,
    attributes: [],
    price: 3.2,
  },
];

export interface AlpacaEmulator {
  url: string;
  keyId: string;
  secret: string;
  book: Book;
  requests: SeenRequest[];
  /** POST /v2/orders requests that carried this client_order_id (accepted or not). */
  posted(clientOrderId: string): SeenRequest[];
  /** Every order the emulator ever accepted (parents and simple orders; bracket legs inside `legs`). */
  ledger(): EmuOrder[];
  /** An order (or leg) by Alpaca id or client_order_id. */
  order(idOrClientId: string): EmuOrder | undefined;
  setClock(nyWall: string): void;
  /** Move the (stopped) clock forward by `ms`. */
  advanceClock(ms: number): void;
  /** The seeded bar paths behind /v2/stocks/bars. */
  bars: EmuBars;
  /** Like setClock, but the clock then runs on with real time (for a live client process on a shifted clock). */
  runClock(nyWall: string): void;
  now(): number;
  /** New quote; orders it crosses fill (in their session). last defaults to the mid. */
  setQuote(symbol: string, q: { bid: number; ask: number; last?: number }): void;
  /** Fill an order (or a bracket leg) now, at `price` (default: the quote side). Refuses outside its session. */
  fill(
    idOrClientId: string,
    opts?: { qty?: number; price?: number; leg?: 'take_profit' | 'stop_loss'; force?: boolean },
  ): EmuOrder;
  haltAsset(symbol: string, halted?: boolean): void;
  setAsset(symbol: string, patch: Partial<EmuAsset>): void;
  setAccount(patch: Partial<EmuAccountSettings>): void;
  setPosition(symbol: string, qty: number, avgPrice: number): void;
  fault(f: Fault): void;
  /** The trading WebSocket (/stream, trade_updates): frames, duplicates, reorders, cuts (alpaca/stream.ts). */
  stream: TradeStream;
  /** Cut the trading stream; with `hold`, refuse reconnects until restoreStream(). Events meanwhile are lost. */
  dropStream(hold?: boolean): void;
  restoreStream(): void;
  /**
   * The owner acts in Alpaca's app, outside the client: sell shares at the bid now (any session). `overHeld`: a
   * sale the broker makes even of shares an open order of the client holds (a liquidation by the broker, a
   * position closed from the dashboard while a bracket's legs rest): the legs keep resting, now on fewer shares.
   */
  appSell(symbol: string, qty: number, opts?: { overHeld?: boolean }): EmuOrder;
  /** The owner cancels an order (or leg) in Alpaca's app. */
  appCancel(idOrClientId: string): void;
  close(): Promise<void>;
}

export async function startAlpacaEmulator(opts: AlpacaEmulatorOptions = {}): Promise<AlpacaEmulator> {
  const keyId = opts.keyId ?? 'PKEMULATOR';
  const secret = opts.secret ?? 'emulator-secret';
  const cal = new MarketCalendar(opts.holidays, opts.earlyCloses);
  let now = nyToMs(opts.now ?? '2026-11-23T10:00');
  // Set by runClock: the clock reads `now` plus the real time elapsed since then.
  let runningSince: number | undefined;
  const clockNow = () => (runningSince === undefined ? now : now + (Date.now() - runningSince));
  const assets = new Map((opts.assets ?? DEFAULT_ASSETS).map((a) => [a.symbol, { ...a }]));
  const quotes = new Map<string, EmuQuote>();
  const account: EmuAccountSettings = {
    cash: 10_000,
    multiplier: 1,
    status: 'ACTIVE',
    trading_blocked: false,
    account_blocked: false,
    trade_suspended_by_user: false,
    shorting_enabled: false,
    ...opts.account,
  };
  const book = new Book(assets, quotes, account, cal, clockNow);
  const requests: SeenRequest[] = [];
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const bars = new EmuBars(cal, (s) => assets.get(s)?.price, opts.bars);
  // Bars and latest-quote calls count against Alpaca's data limit, on the emulator's clock (the older snapshot
  // and quote routes stay unlimited: the trading tests call them freely at a stopped clock).
  const dataCallsPerMinute = opts.bars?.callsPerMinute ?? 200;
  const dataCalls: number[] = [];

  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };

  function route(method: string, path: string, q: Record<string, string>, body: Record<string, unknown>) {
    const now = clockNow();
    const seg = path.split('/').filter(Boolean);
    const bool = (v: string | undefined) => v === 'true';
    // Trading API.
    if (method === 'GET' && path === '/v2/account') return [200, accountJson(book)] as const;
    if (method === 'GET' && path === '/v2/clock') return [200, cal.clock(now)] as const;
    if (method === 'GET' && path === '/v2/calendar') {
      const today = nyParts(now).date;
      const rows = cal.range(q['start'] ?? today, q['end'] ?? q['start'] ?? today);
      return [200, rows.map((d) => cal.calendarRow(d))] as const;
    }
    if (method === 'GET' && path === '/v2/assets') {
      const list = [...assets.values()].filter(
        (a) =>
          (!q['status'] || a.status === q['status']) &&
          (!q['asset_class'] || q['asset_class'] === 'us_equity'),
      );
      return [200, list.map(assetJson)] as const;
    }
    if (method === 'GET' && seg[1] === 'assets' && seg.length === 3) {
      const a = assets.get(decodeURIComponent(seg[2]!).toUpperCase());
      if (!a) throw notFound('asset not found');
      return [200, assetJson(a)] as const;
    }
    if (method === 'POST' && path === '/v2/orders') return [200, orderJson(book.submit(body), true)] as const;
    if (method === 'GET' && path === '/v2/orders') {
      const status = q['status'] ?? 'open';
      const symbols = q['symbols'] ? new Set(q['symbols'].split(',')) : undefined;
      const nested = bool(q['nested']);
      const limit = Math.min(500, Number(q['limit'] ?? 50) || 50);
      const all = nested ? book.orders : book.orders.flatMap((o) => [o, ...o.legs]);
      // after/until: by submission time, exclusive (Alpaca's semantics); direction asc = oldest first.
      const after = q['after'] ? Date.parse(q['after']) : -Infinity;
      const filtered = all.filter(
        (o) =>
          (!symbols || symbols.has(o.symbol)) &&
          o.created_at > after &&
          (status === 'all' || (status === 'open') === (isOpen(o) || (nested && o.legs.some(isOpen)))),
      );
      const list = (q['direction'] === 'asc' ? filtered : filtered.reverse()).slice(0, limit);
      return [200, list.map((o) => orderJson(o, nested))] as const;
    }
    if (method === 'GET' && path === '/v2/orders:by_client_order_id') {
      const o = book.orders.find((x) => x.client_order_id === q['client_order_id']);
      if (!o) throw notFound('order not found');
      return [200, orderJson(o, true)] as const;
    }
    if (seg[1] === 'orders' && seg.length === 3) {
      const o = book.byId.get(seg[2]!);
      if (method === 'GET') {
        if (!o) throw notFound('order not found');
        return [200, orderJson(o, true)] as const;
      }
      if (method === 'DELETE') {
        book.cancel(seg[2]!);
        return [204, undefined] as const;
      }
      if (method === 'PATCH') return [200, orderJson(replaceOrder(book, seg[2]!, body), true)] as const;
    }
    if (method === 'DELETE' && path === '/v2/orders') {
      const open = book.orders.filter(isOpen);
      for (const o of open) book.end(o, 'canceled');
      return [207, open.map((o) => ({ id: o.id, status: 200 }))] as const;
    }
    if (method === 'GET' && path === '/v2/account/activities/FILL')
      return [200, stream.fills(q).map(activityJson)] as const;
    if (method === 'GET' && path === '/v2/positions')
      return [200, [...book.positions.values()].map((p) => positionJson(p, book))] as const;
    if (seg[1] === 'positions' && seg.length === 3) {
      const sym = decodeURIComponent(seg[2]!).toUpperCase();
      const p = book.positions.get(sym);
      if (!p) throw notFound('position does not exist');
      if (method === 'GET') return [200, positionJson(p, book)] as const;
      if (method === 'DELETE') {
        const qty = q['qty'] ? Number(q['qty']) : (Math.abs(p.qty) * Number(q['percentage'] ?? 100)) / 100;
        const o = book.submit({
          symbol: sym,
          side: p.qty > 0 ? 'sell' : 'buy',
          type: 'market',
          qty: String(qty),
          time_in_force: 'day',
        });
        return [200, orderJson(o, false)] as const;
      }
    }
    // Market data API.
    const limited =
      method === 'GET' &&
      (path === '/v2/stocks/bars' ||
        path === '/v2/stocks/quotes/latest' ||
        /^\/v2\/stocks\/[^/]+\/bars$/.test(path));
    if (limited) {
      while (dataCalls.length > 0 && dataCalls[0]! <= now - 60_000) dataCalls.shift();
      if (dataCalls.length >= dataCallsPerMinute) {
        const retry = Math.ceil((dataCalls[0]! + 60_000 - now) / 1000);
        throw new AlpacaReply(429, { message: 'too many requests.' }, { 'retry-after': String(retry) });
      }
      dataCalls.push(now);
    }
    const has = (s: string) => assets.has(s);
    if (method === 'GET' && path === '/v2/stocks/bars') return [200, barsRoute(bars, has, q, now)] as const;
    if (method === 'GET' && path === '/v2/stocks/quotes/latest') {
      const out: Record<string, unknown> = {};
      for (const s of (q['symbols'] ?? '').split(',').filter(Boolean)) {
        const qt = book.quote(s.toUpperCase());
        if (qt && assets.has(s.toUpperCase())) out[s.toUpperCase()] = quoteJson(qt, now);
      }
      return [200, { quotes: out }] as const;
    }
    if (method === 'GET' && seg[1] === 'stocks' && seg.length === 4 && seg[3] === 'bars') {
      const sym = decodeURIComponent(seg[2]!).toUpperCase();
      if (!assets.has(sym)) throw notFound(`symbol ${sym} not found`);
      return [200, barsRoute(bars, has, q, now, sym)] as const;
    }
    if (method === 'GET' && seg[1] === 'stocks' && seg.length >= 4) {
      const sym = decodeURIComponent(seg[2]!).toUpperCase();
      if (!assets.has(sym)) throw notFound(`symbol ${sym} not found`);
      const qt = book.quote(sym)!;
      if (path.endsWith('/quotes/latest')) return [200, { symbol: sym, quote: quoteJson(qt, now) }] as const;
      if (path.endsWith('/snapshot')) return [200, { symbol: sym, ...snapshotJson(qt, now) }] as const;
    }
    if (method === 'GET' && path === '/v2/stocks/snapshots') {
      const out: Record<string, unknown> = {};
      for (const s of (q['symbols'] ?? '').split(',').filter(Boolean)) {
        const qt = book.quote(s.toUpperCase());
        if (qt && assets.has(s.toUpperCase())) out[s.toUpperCase()] = snapshotJson(qt, now);
      }
      return [200, out] as const;
    }
    return [404, { message: `emulator: no route ${method} ${path}` }] as const;
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed) return;
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };

  function handle(req: IncomingMessage, res: ServerResponse, raw: string, at: number) {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const query = Object.fromEntries(url.searchParams);
    let body: Record<string, unknown> | undefined;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    } catch {
      body = undefined;
    }
    const seen: SeenRequest = { method, path, query, body, status: 0, at };
    requests.push(seen);
    let extraHeaders: Record<string, string> = {};
    const reply = (status: number, b: unknown) => (
      (seen.status = status),
      (seen.repliedAt = performance.timeOrigin + performance.now()),
      send(res, status, b, extraHeaders)
    );

    const id = String(req.headers['apca-api-key-id'] ?? '');
    const sec = String(req.headers['apca-api-secret-key'] ?? '');
    if (!same(id, keyId)) return reply(401, { code: 40110000, message: 'request is not authorized' });
    if (!same(sec, secret)) return reply(403, { message: 'forbidden.' });

    const f = faults.find((x) => `${method} ${path}`.startsWith(x.match));
    if (f) {
      f.count = (f.count ?? 1) - 1;
      if (f.count <= 0) faults.splice(faults.indexOf(f), 1);
    }
    if (f && f.when === 'before') {
      if (f.kind === 'drop') return void ((seen.status = -1), res.socket?.destroy());
      if (f.kind === 'status') return reply(f.status ?? 503, { message: 'service unavailable' });
    }
    book.advance();
    let status: number;
    let out: unknown;
    try {
      [status, out] = route(method, path, query, body ?? {});
    } catch (e) {
      if (!(e instanceof AlpacaReply)) throw e;
      [status, out] = [e.status, e.body];
      extraHeaders = e.headers;
    }
    stream.pump();
    if (f && f.when !== 'before') {
      if (f.kind === 'drop') return void ((seen.status = -1), res.socket?.destroy());
      if (f.kind === 'status') return reply(f.status ?? 500, { message: 'internal server error' });
    }
    if (f?.kind === 'delay') {
      const t = setTimeout(() => (timers.delete(t), reply(status, out)), f.ms ?? 1000);
      timers.add(t);
      return;
    }
    reply(status, out);
  }

  const server = createServer((req, res) => {
    const at = performance.timeOrigin + performance.now();
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
      if (raw.length > 1_000_000) req.destroy();
    });
    req.on('end', () => handle(req, res, raw, at));
  });
  const stream = new TradeStream(server, book, (k, s) => same(k, keyId) && same(s, secret));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  const find = (key: string) =>
    book.byId.get(key) ??
    book.orders.find((o) => o.client_order_id === key) ??
    book.orders.flatMap((o) => o.legs).find((l) => l.client_order_id === key);

  return {
    url: `http://127.0.0.1:${port}`,
    keyId,
    secret,
    book,
    requests,
    posted: (cid) =>
      requests.filter(
        (r) => r.method === 'POST' && r.path === '/v2/orders' && r.body?.['client_order_id'] === cid,
      ),
    ledger: () => [...book.orders],
    order: find,
    setClock(wall) {
      now = nyToMs(wall);
      runningSince = undefined;
      book.advance();
      stream.pump();
    },
    advanceClock(ms) {
      now = clockNow() + ms;
      runningSince = undefined;
      book.advance();
      stream.pump();
    },
    bars,
    runClock(wall) {
      now = nyToMs(wall);
      runningSince = Date.now();
      book.advance();
      stream.pump();
    },
    now: clockNow,
    setQuote(symbol, q) {
      quotes.set(symbol, { bid: q.bid, ask: q.ask, last: q.last ?? (q.bid + q.ask) / 2 });
      book.advance();
      book.match(symbol);
      stream.pump();
    },
    fill(key, o = {}) {
      book.advance();
      const parent = find(key);
      if (!parent) throw new Error(`emulator: no order ${key}`);
      const target = o.leg ? parent.legs.find((l) => l.leg === o.leg) : parent;
      if (!target) throw new Error(`emulator: order ${key} has no ${o.leg} leg`);
      if (!o.force && !book.tradableNow(target))
        throw new Error(`emulator: order ${key} cannot trade now (status ${target.status})`);
      book.fill(target, o.qty, o.price);
      stream.pump();
      return target;
    },
    haltAsset(symbol, halted = true) {
      if (halted) book.halted.add(symbol);
      else book.halted.delete(symbol);
    },
    setAsset(symbol, patch) {
      const a = assets.get(symbol);
      if (a) Object.assign(a, patch);
      else assets.set(symbol, { ...DEFAULT_ASSETS[0]!, symbol, ...patch });
    },
    setAccount(patch) {
      Object.assign(account, patch);
    },
    setPosition(symbol, qty, avgPrice) {
      if (qty === 0) book.positions.delete(symbol);
      else book.positions.set(symbol, { symbol, qty, avg_entry_price: avgPrice });
    },
    fault(f) {
      faults.push({ ...f });
    },
    stream,
    dropStream: (hold = false) => stream.drop(hold),
    restoreStream: () => stream.restore(),
    appSell(symbol, qty, opts = {}) {
      book.advance();
      const o = book.submit(
        { symbol, side: 'sell', type: 'market', qty: String(qty), time_in_force: 'day' },
        opts,
      );
      book.fill(o);
      stream.pump();
      return o;
    },
    appCancel(key) {
      const o = find(key);
      if (!o) throw new Error(`emulator: no order ${key}`);
      book.end(o, 'canceled');
      stream.pump();
    },
    close: async () => {
      await stream.close();
      await new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      });
    },
  };
}
