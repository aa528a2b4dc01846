import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachUserStream, type UserStreamControls } from './binance-user-stream.js';

/**
 * A small Binance SPOT REST emulator on 127.0.0.1 (port 0), enough for the REAL ccxt.binance class to load
 * markets, read balances and tickers, place/query/cancel orders, and hit Binance's error codes. It keeps a ledger of
 * every order it accepted so tests can count orders per clientOrderId. Like Binance, a resting order locks what it
 * would spend (a sell its base, a buy its quote): free = balance - locked. Every order change and every execution
 * is also sent on the spot user-data stream as Binance sends it (binance-user-stream.ts): ccxt.pro's binance
 * watchOrders/watchMyTrades read it when `urls.api.ws` points here (exchange.base_url rewrites those too).
 */

export interface EmuMarket {
  symbol: string; // BTCUSDT
  base: string;
  quote: string;
  price: number;
  tickSize: string;
  stepSize: string;
  minQty: string;
  minNotional: string;
}

export interface EmuOrder {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  type: 'MARKET' | 'LIMIT' | 'STOP_LOSS_LIMIT' | 'TAKE_PROFIT_LIMIT';
  stopPrice: number;
  origQty: number;
  executedQty: number;
  price: number;
  avgPrice: number;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED';
  time: number;
  commission: number;
  commissionAsset: string;
  trades: {
    id: number;
    price: number;
    qty: number;
    commission: number;
    commissionAsset: string;
    time: number;
  }[];
}

export interface EmulatorOptions {
  apiKey: string;
  secret: string;
  markets?: EmuMarket[];
  balances?: Record<string, number>;
  commissionRate?: number;
}

export const DEFAULT_MARKETS: EmuMarket[] = [
  {
    symbol: 'BTCUSDT',
    base: 'BTC',
    quote: 'USDT',
    price: 60000,
    tickSize: '0.01',
    stepSize: '0.00001',
    minQty: '0.00001',
    minNotional: '5',
  },
  {
    symbol: 'ETHUSDT',
    base: 'ETH',
    quote: 'USDT',
    price: 3000,
    tickSize: '0.01',
    stepSize: '0.0001',
    minQty: '0.0001',
    minNotional: '5',
  },
  {
    symbol: 'SOLUSDT',
    base: 'SOL',
    quote: 'USDT',
    price: 150,
    tickSize: '0.01',
    stepSize: '0.001',
    minQty: '0.001',
    minNotional: '5',
  },
];

function decimalsOf(step: string): number {
  return step.includes('.') ? step.replace(/0+$/, '').split('.')[1]!.length : 0;
}
const isMultiple = (x: number, step: string) => {
  const n = x / Number(step);
  return Math.abs(n - Math.round(n)) < 1e-7;
};

export interface BinanceEmulator {
  url: string;
  orders: EmuOrder[];
  balances: Map<string, number>;
  markets: Map<string, EmuMarket>;
  /** Requests seen, as "METHOD /path". */
  requests: string[];
  /** When each of `requests` arrived (performance.timeOrigin + performance.now(), ms): latency benchmarks. */
  requestTimes: number[];
  /** The next N order POSTs execute, then their reply is delayed by ms (simulates a reply after ccxt's timeout). */
  delayOrderReplies(ms: number, count?: number): void;
  /** The next LIMIT order fills only this fraction now (stays PARTIALLY_FILLED). */
  partialNext(ratio: number): void;
  /** Complete a partially filled order. */
  fillRest(clientOrderId: string): void;
  ordersFor(clientOrderId: string): EmuOrder[];
  /** Trigger a resting stop/take-profit order: it fills at its limit price. */
  trigger(clientOrderId: string): void;
  /** Resolves when the ledger has at least n orders. */
  waitForOrders(n: number): Promise<void>;
  /** The next marketable order fills in this many executions (each its own trade id and executionReport). */
  splitNext(executions: number): void;
  /** The user-data stream: subscribers, cut, duplicate, drop. */
  userStream: UserStreamControls;
  close(): Promise<void>;
}

export async function startBinanceEmulator(opts: EmulatorOptions): Promise<BinanceEmulator> {
  const markets = new Map((opts.markets ?? DEFAULT_MARKETS).map((m) => [m.symbol, { ...m }]));
  const balances = new Map(Object.entries(opts.balances ?? { USDT: 1000 }));
  const rate = opts.commissionRate ?? 0.001;
  const orders: EmuOrder[] = [];
  const requests: string[] = [];
  const requestTimes: number[] = [];
  let delay = { ms: 0, count: 0 };
  let partial: number | undefined;
  let split = 1;
  let nextId = 1000;
  const waiters: { n: number; resolve: () => void }[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();

  const notify = () => {
    for (const w of [...waiters]) {
      if (orders.length < w.n) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const err = (res: ServerResponse, status: number, code: number, msg: string) =>
    json(res, status, { code, msg });

  const marketInfo = (m: EmuMarket) => ({
    symbol: m.symbol,
    status: 'TRADING',
    baseAsset: m.base,
    baseAssetPrecision: 8,
    quoteAsset: m.quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
    icebergAllowed: true,
    ocoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: m.tickSize,
        maxPrice: '1000000.00000000',
        tickSize: m.tickSize,
      },
      { filterType: 'LOT_SIZE', minQty: m.minQty, maxQty: '9000.00000000', stepSize: m.stepSize },
      {
        filterType: 'NOTIONAL',
        minNotional: m.minNotional,
        applyMinToMarket: true,
        maxNotional: '9000000.00000000',
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  });

  const orderJson = (o: EmuOrder, full: boolean) => {
    const m = markets.get(o.symbol)!;
    const q = decimalsOf(m.stepSize);
    const base = {
      symbol: o.symbol,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: o.clientOrderId,
      price: o.type !== 'MARKET' ? o.price.toFixed(8) : '0.00000000',
      origQty: o.origQty.toFixed(q),
      executedQty: o.executedQty.toFixed(q),
      cummulativeQuoteQty: (o.executedQty * o.avgPrice).toFixed(8),
      status: o.status,
      timeInForce: 'GTC',
      type: o.type,
      side: o.side,
      workingTime: o.time,
      selfTradePreventionMode: 'NONE',
    };
    if (full) {
      return {
        ...base,
        transactTime: o.time,
        fills:
          o.executedQty > 0
            ? [
                {
                  price: o.avgPrice.toFixed(8),
                  qty: o.executedQty.toFixed(q),
                  commission: o.commission.toFixed(8),
                  commissionAsset: o.commissionAsset,
                  tradeId: o.orderId,
                },
              ]
            : [],
      };
    }
    return {
      ...base,
      stopPrice: o.stopPrice.toFixed(8),
      icebergQty: '0.00000000',
      time: o.time,
      updateTime: o.time,
      isWorking: true,
      origQuoteOrderQty: '0.00000000',
    };
  };

  const isOpen = (o: EmuOrder) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
  /** What resting orders hold of an asset. */
  const locked = (asset: string) =>
    orders.filter(isOpen).reduce((sum, o) => {
      const m = markets.get(o.symbol)!;
      const rest = o.origQty - o.executedQty;
      if (o.side === 'SELL' && m.base === asset) return sum + rest;
      if (o.side === 'BUY' && m.quote === asset) return sum + rest * o.price;
      return sum;
    }, 0);
  const free = (asset: string) => (balances.get(asset) ?? 0) - locked(asset);

  const fill = (o: EmuOrder, qty: number, price: number) => {
    const m = markets.get(o.symbol)!;
    const cost = qty * price;
    const bal = (a: string) => balances.get(a) ?? 0;
    if (o.side === 'BUY') {
      const fee = qty * rate;
      balances.set(m.quote, bal(m.quote) - cost);
      balances.set(m.base, bal(m.base) + qty - fee);
      o.commission += fee;
      o.commissionAsset = m.base;
      o.trades.push({ id: nextId++, price, qty, commission: fee, commissionAsset: m.base, time: Date.now() });
    } else {
      const fee = cost * rate;
      balances.set(m.base, bal(m.base) - qty);
      balances.set(m.quote, bal(m.quote) + cost - fee);
      o.commission += fee;
      o.commissionAsset = m.quote;
      o.trades.push({
        id: nextId++,
        price,
        qty,
        commission: fee,
        commissionAsset: m.quote,
        time: Date.now(),
      });
    }
    o.avgPrice = (o.avgPrice * o.executedQty + price * qty) / (o.executedQty + qty);
    o.executedQty += qty;
    o.status = o.executedQty >= o.origQty - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    report(o, 'TRADE', o.trades.at(-1));
    userStream.emit({
      e: 'outboundAccountPosition',
      E: Date.now(),
      u: Date.now(),
      B: [m.base, m.quote].map((a) => ({ a, f: free(a).toFixed(8), l: locked(a).toFixed(8) })),
    });
  };

  let cancels = 0;
  /** One executionReport as Binance's user-data stream sends it. */
  const report = (o: EmuOrder, x: 'NEW' | 'TRADE' | 'CANCELED', t?: EmuOrder['trades'][number]) => {
    const m = markets.get(o.symbol)!;
    const q = decimalsOf(m.stepSize);
    const now = Date.now();
    // A cancel's report carries the cancel request's id in c and the order's own id in C.
    const canceled = x === 'CANCELED';
    userStream.emit({
      e: 'executionReport',
      E: now,
      s: o.symbol,
      c: canceled ? `cancel${++cancels}` : o.clientOrderId,
      S: o.side,
      o: o.type,
      f: 'GTC',
      q: o.origQty.toFixed(q),
      p: o.price.toFixed(8),
      P: o.stopPrice.toFixed(8),
      F: '0.00000000',
      g: -1,
      C: canceled ? o.clientOrderId : '',
      x,
      X: o.status,
      r: 'NONE',
      i: o.orderId,
      l: (t?.qty ?? 0).toFixed(q),
      z: o.executedQty.toFixed(q),
      L: (t?.price ?? 0).toFixed(8),
      n: (t?.commission ?? 0).toFixed(8),
      N: t ? t.commissionAsset : null,
      T: t?.time ?? now,
      t: t?.id ?? -1,
      I: now,
      w: o.status === 'NEW' || o.status === 'PARTIALLY_FILLED',
      m: false,
      M: Boolean(t),
      O: o.time,
      Z: (o.executedQty * o.avgPrice).toFixed(8),
      Y: t ? (t.qty * t.price).toFixed(8) : '0.00000000',
      Q: '0.00000000',
      W: o.time,
      V: 'NONE',
    });
  };

  function verify(req: IncomingMessage, query: string, body: string): string | undefined {
    if (req.headers['x-mbx-apikey'] !== opts.apiKey) return 'key';
    const all = [query, body].filter(Boolean).join('');
    const m = /(?:^|&)signature=([0-9a-f]+)/.exec(all);
    if (!m) return 'sig';
    const payload = [query, body]
      .filter(Boolean)
      .map((s) => s.replace(/&?signature=[0-9a-f]+/, ''))
      .join('');
    const expected = createHmac('sha256', opts.secret).update(payload).digest('hex');
    const a = Buffer.from(expected);
    const b = Buffer.from(m[1]!);
    return a.length === b.length && timingSafeEqual(a, b) ? undefined : 'sig';
  }

  const server = createServer((req, res) => {
    const at = performance.timeOrigin + performance.now();
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      const query = url.search.slice(1);
      const p = new URLSearchParams(query + (body ? '&' + body : ''));
      requests.push(`${req.method} ${path}`);
      requestTimes.push(at);
      const key = req.headers['x-mbx-apikey'];
      if (
        userStream.route(req.method ?? '', path, typeof key === 'string' ? key : undefined, (st, b) =>
          json(res, st, b),
        )
      )
        return;
      const signed =
        path === '/api/v3/myTrades' ||
        path === '/api/v3/account' ||
        path === '/api/v3/order' ||
        path === '/api/v3/openOrders' ||
        path === '/api/v3/allOrders' ||
        path.startsWith('/sapi/');
      if (signed) {
        const bad = verify(req, query, body);
        if (bad === 'key') return err(res, 401, -2015, 'Invalid API-key, IP, or permissions for action.');
        if (bad === 'sig') return err(res, 400, -1022, 'Signature for this request is not valid.');
      }
      if (req.method === 'GET' && path === '/api/v3/exchangeInfo') {
        return json(res, 200, {
          timezone: 'UTC',
          serverTime: Date.now(),
          rateLimits: [],
          exchangeFilters: [],
          symbols: [...markets.values()].map(marketInfo),
        });
      }
      if (req.method === 'GET' && path === '/api/v3/time') return json(res, 200, { serverTime: Date.now() });
      if (req.method === 'GET' && path === '/api/v3/ticker/24hr') {
        const m = markets.get(p.get('symbol') ?? '');
        if (!m) return err(res, 400, -1121, 'Invalid symbol.');
        const s = m.price.toFixed(8);
        const now = Date.now();
        return json(res, 200, {
          symbol: m.symbol,
          priceChange: '0',
          priceChangePercent: '0',
          weightedAvgPrice: s,
          prevClosePrice: s,
          lastPrice: s,
          lastQty: '1',
          bidPrice: s,
          bidQty: '1',
          askPrice: s,
          askQty: '1',
          openPrice: s,
          highPrice: s,
          lowPrice: s,
          volume: '100',
          quoteVolume: '100',
          openTime: now - 86_400_000,
          closeTime: now,
          firstId: 1,
          lastId: 2,
          count: 2,
        });
      }
      if (req.method === 'GET' && path === '/api/v3/account') {
        return json(res, 200, {
          makerCommission: 10,
          takerCommission: 10,
          buyerCommission: 0,
          sellerCommission: 0,
          canTrade: true,
          canWithdraw: false,
          canDeposit: true,
          updateTime: Date.now(),
          accountType: 'SPOT',
          permissions: ['SPOT'],
          balances: [...balances.keys()].map((asset) => ({
            asset,
            free: free(asset).toFixed(8),
            locked: locked(asset).toFixed(8),
          })),
        });
      }
      if (req.method === 'GET' && path === '/sapi/v1/account/apiRestrictions') {
        return json(res, 200, {
          ipRestrict: false,
          createTime: Date.now(),
          enableWithdrawals: false,
          enableReading: true,
          enableSpotAndMarginTrading: true,
        });
      }
      if (path === '/api/v3/order' && req.method === 'GET') {
        const cid = p.get('origClientOrderId');
        const oid = p.get('orderId');
        // Binance returns the LATEST order with that client id.
        const o = [...orders]
          .reverse()
          .find(
            (x) =>
              (cid ? x.clientOrderId === cid : String(x.orderId) === oid) && x.symbol === p.get('symbol'),
          );
        if (!o) return err(res, 400, -2013, 'Order does not exist.');
        return json(res, 200, orderJson(o, false));
      }
      if (path === '/api/v3/order' && req.method === 'POST') {
        const m = markets.get(p.get('symbol') ?? '');
        if (!m) return err(res, 400, -1121, 'Invalid symbol.');
        const side = p.get('side') as 'BUY' | 'SELL';
        const type = p.get('type') as EmuOrder['type'];
        if (!['MARKET', 'LIMIT', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'].includes(type))
          return err(res, 400, -1116, 'Invalid orderType.');
        const stopPrice = Number(p.get('stopPrice') ?? 0);
        if (type.endsWith('_LIMIT') && !(stopPrice > 0))
          return err(
            res,
            400,
            -1102,
            "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.",
          );
        const qty = Number(p.get('quantity'));
        const cid = p.get('newClientOrderId') ?? `emu-${nextId}`;
        if (!(qty > 0) || !isMultiple(qty, m.stepSize) || qty < Number(m.minQty))
          return err(res, 400, -1013, 'Filter failure: LOT_SIZE');
        const limitPrice = type !== 'MARKET' ? Number(p.get('price')) : undefined;
        if (limitPrice !== undefined && !isMultiple(limitPrice, m.tickSize))
          return err(res, 400, -1013, 'Filter failure: PRICE_FILTER');
        const px = m.price;
        if (qty * (limitPrice ?? px) < Number(m.minNotional))
          return err(res, 400, -1013, 'Filter failure: NOTIONAL');
        if (
          orders.some(
            (o) => o.clientOrderId === cid && (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED'),
          )
        ) {
          return err(res, 400, -2010, 'Duplicate order sent.');
        }
        const need = side === 'BUY' ? qty * (limitPrice ?? px) : qty;
        if (free(side === 'BUY' ? m.quote : m.base) < need - 1e-12) {
          return err(res, 400, -2010, 'Account has insufficient balance for requested action.');
        }
        const o: EmuOrder = {
          orderId: nextId++,
          clientOrderId: cid,
          symbol: m.symbol,
          side,
          type,
          origQty: qty,
          executedQty: 0,
          price: limitPrice ?? 0,
          avgPrice: 0,
          status: 'NEW',
          time: Date.now(),
          commission: 0,
          commissionAsset: m.quote,
          trades: [],
          stopPrice,
        };
        report(o, 'NEW');
        // Conditional orders rest until the test triggers them.
        const marketable =
          stopPrice > 0
            ? false
            : limitPrice === undefined || (side === 'BUY' ? limitPrice >= px : limitPrice <= px);
        if (marketable) {
          if (type === 'LIMIT' && partial !== undefined) {
            const q = Number(
              (Math.floor((qty * partial) / Number(m.stepSize)) * Number(m.stepSize)).toFixed(
                decimalsOf(m.stepSize),
              ),
            );
            if (q > 0) fill(o, q, px);
            partial = undefined;
          } else {
            // Split into `split` executions on the amount step; the last takes the rest.
            const step = Number(m.stepSize);
            const part = Math.floor(qty / split / step) * step;
            for (let i = 1; i < split && part > 0; i++)
              fill(o, Number(part.toFixed(decimalsOf(m.stepSize))), px);
            fill(o, Number((qty - o.executedQty).toFixed(decimalsOf(m.stepSize))), px);
            split = 1;
          }
        }
        orders.push(o);
        notify();
        const reply = () => json(res, 200, orderJson(o, true));
        if (delay.count > 0) {
          delay.count--;
          const t = setTimeout(() => (pendingTimers.delete(t), reply()), delay.ms);
          pendingTimers.add(t);
        } else reply();
        return;
      }
      if (path === '/api/v3/order' && req.method === 'DELETE') {
        const cid = p.get('origClientOrderId');
        const oid = p.get('orderId');
        const o = [...orders]
          .reverse()
          .find(
            (x) =>
              (cid ? x.clientOrderId === cid : String(x.orderId) === oid) && x.symbol === p.get('symbol'),
          );
        if (!o || !isOpen(o)) return err(res, 400, -2011, 'Unknown order sent.');
        o.status = 'CANCELED';
        report(o, 'CANCELED');
        return json(res, 200, orderJson(o, false));
      }
      if (path === '/api/v3/myTrades' && req.method === 'GET') {
        const sym = p.get('symbol');
        const oid = p.get('orderId');
        const start = Number(p.get('startTime') ?? 0);
        const list = orders.filter((o) => o.symbol === sym && (!oid || String(o.orderId) === oid));
        return json(
          res,
          200,
          list.flatMap((o) =>
            o.trades
              .filter((t) => t.time >= start)
              .map((t) => ({
                symbol: o.symbol,
                id: t.id,
                orderId: o.orderId,
                orderListId: -1,
                price: t.price.toFixed(8),
                qty: t.qty.toFixed(8),
                quoteQty: (t.price * t.qty).toFixed(8),
                commission: t.commission.toFixed(8),
                commissionAsset: t.commissionAsset,
                time: t.time,
                isBuyer: o.side === 'BUY',
                isMaker: false,
                isBestMatch: true,
              })),
          ),
        );
      }
      if (path === '/api/v3/allOrders' && req.method === 'GET') {
        const start = Number(p.get('startTime') ?? 0);
        return json(
          res,
          200,
          orders
            .filter((o) => o.symbol === p.get('symbol') && o.time >= start)
            .map((o) => orderJson(o, false)),
        );
      }
      if (path === '/api/v3/openOrders' && req.method === 'GET') {
        return json(
          res,
          200,
          orders
            .filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED')
            .map((o) => orderJson(o, false)),
        );
      }
      return err(res, 404, -1, `emulator: no route ${req.method} ${path}`);
    });
  });
  const userStream = attachUserStream(server, opts);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    orders,
    balances,
    markets,
    requests,
    requestTimes,
    delayOrderReplies(ms, count = 1) {
      delay = { ms, count };
    },
    partialNext(ratio) {
      partial = ratio;
    },
    fillRest(cid) {
      const o = orders.find((x) => x.clientOrderId === cid);
      if (o && o.executedQty < o.origQty)
        fill(o, Number((o.origQty - o.executedQty).toFixed(12)), markets.get(o.symbol)!.price);
    },
    ordersFor: (cid) => orders.filter((o) => o.clientOrderId === cid),
    trigger(cid) {
      const o = orders.find((x) => x.clientOrderId === cid && x.stopPrice > 0 && x.status === 'NEW');
      if (o) fill(o, o.origQty, o.price);
    },
    splitNext(executions) {
      split = Math.max(1, Math.floor(executions));
    },
    userStream,
    waitForOrders: (n) =>
      new Promise<void>((resolve) => (orders.length >= n ? resolve() : waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((r) => {
        for (const t of pendingTimers) clearTimeout(t);
        userStream.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
