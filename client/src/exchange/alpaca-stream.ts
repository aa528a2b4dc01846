import WebSocket from 'ws';
import { z } from 'zod';
import { backoffDelay, type ReconnectPolicy } from '@catalyst-signal/shared';
import { orderStatus } from './alpaca-parse.js';
import { fillKey, type BrokerEvent } from './types.js';

/**
 * Alpaca's trading stream (`wss://…/stream`, `trade_updates`), read with `ws` directly rather than through
 * ccxt.pro's alpaca watchOrders/watchMyTrades: those report the ORDER's cumulative filled_qty/filled_avg_price as a
 * "trade" and read a trade id from a field Alpaca does not send, so each partial fill's own quantity, price and
 * execution_id are lost. Here every frame (binary - Alpaca's paper stream sends JSON in binary frames - or text) is
 * parsed with zod into a BrokerEvent. The stream has no replay: whoever consumes it catches up over REST on every
 * (re)connect (follow.ts). Reconnects back off as `server.reconnect` says.
 */

/** A frame bigger than this is refused by the socket (an order event is ~2 KB; a bracket's legs add ~1 KB each). */
export const MAX_FRAME_BYTES = 256 * 1024;
/** Authorized and listening within this long after the socket opened, or it is dropped and dialled again. */
export const SUBSCRIBE_TIMEOUT_MS = 10_000;
/** A ping this often; no pong by the next one means a dead connection (a half-open TCP socket sends no close). */
export const PING_EVERY_MS = 10_000;

const num = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined || v === '' ? undefined : Number(v)))
  .refine((v) => v === undefined || Number.isFinite(v), 'not a number');

const OrderSchema = z.looseObject({
  id: z.string().min(1),
  client_order_id: z.string(),
  symbol: z.string().min(1),
  side: z.enum(['buy', 'sell']),
  status: z.string(),
  filled_qty: num,
  filled_avg_price: num,
  qty: num,
  limit_price: num,
  legs: z
    .array(z.looseObject({ id: z.string().min(1), client_order_id: z.string() }))
    .nullish()
    .transform((l) => l ?? []),
});

const TradeUpdateSchema = z.looseObject({
  event: z.string().min(1),
  execution_id: z.string().optional(),
  order: OrderSchema,
  timestamp: z.string().optional(),
  price: num,
  qty: num,
  position_qty: num,
});

const FrameSchema = z.looseObject({ stream: z.string(), data: z.unknown() });

export type AlpacaOrderJson = z.infer<typeof OrderSchema>;

/** An order as Alpaca describes it, with the event that moved it, as a BrokerEvent. */
export function orderEvent(
  event: string,
  o: AlpacaOrderJson,
  at: number,
  source: BrokerEvent['source'],
  exec: {
    id?: string | undefined;
    qty?: number | undefined;
    price?: number | undefined;
    positionQty?: number | undefined;
  } = {},
): BrokerEvent {
  const filled = o.filled_qty ?? 0;
  const isFill = event === 'fill' || event === 'partial_fill';
  return {
    key: isFill ? fillKey(o.client_order_id, filled) : `${event}:${o.client_order_id}`,
    event,
    orderId: o.id,
    clientOrderId: o.client_order_id,
    market: o.symbol,
    side: o.side,
    status: orderStatus(o.status),
    filled,
    average: o.filled_avg_price,
    executionId: exec.id,
    qty: exec.qty,
    price: exec.price,
    amount: o.qty,
    limitPrice: o.limit_price,
    positionQty: exec.positionQty,
    at,
    legs: o.legs.map((l) => ({ orderId: l.id, clientOrderId: l.client_order_id })),
    source,
  };
}

export const parseOrderJson = (raw: unknown) => OrderSchema.safeParse(raw);

/** One frame -> the event it carries, 'control' (authorization, listening), or an error message. */
export function parseFrame(
  raw: string,
):
  | { kind: 'event'; event: BrokerEvent }
  | { kind: 'auth'; ok: boolean }
  | { kind: 'listening'; streams: string[] }
  | { kind: 'other'; detail: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { kind: 'other', detail: 'not JSON' };
  }
  const f = FrameSchema.safeParse(json);
  if (!f.success) return { kind: 'other', detail: 'not a stream frame' };
  const data = (f.data.data ?? {}) as Record<string, unknown>;
  if (f.data.stream === 'authorization') return { kind: 'auth', ok: data['status'] === 'authorized' };
  if (f.data.stream === 'listening')
    return {
      kind: 'listening',
      streams: Array.isArray(data['streams']) ? (data['streams'] as string[]) : [],
    };
  if (f.data.stream !== 'trade_updates') return { kind: 'other', detail: `stream ${f.data.stream}` };
  const u = TradeUpdateSchema.safeParse(data);
  if (!u.success) return { kind: 'other', detail: `bad trade update: ${u.error.issues[0]?.message ?? ''}` };
  const at = u.data.timestamp ? Date.parse(u.data.timestamp) : NaN;
  return {
    kind: 'event',
    event: orderEvent(u.data.event, u.data.order, Number.isFinite(at) ? at : Date.now(), 'stream', {
      id: u.data.execution_id,
      qty: u.data.qty,
      price: u.data.price,
      positionQty: u.data.position_qty,
    }),
  };
}

export interface TradeStreamOptions {
  /** ws(s)://host/stream */
  url: string;
  keyId: string;
  secret: string;
  reconnect: ReconnectPolicy;
  onEvent: (e: BrokerEvent) => void;
  /** Subscribed (again): what happened while down must be caught up over REST now. */
  onLive: () => void;
  onDown?: ((why: string) => void) | undefined;
  /** SUBSCRIBE_TIMEOUT_MS and PING_EVERY_MS unless given (tests). */
  subscribeTimeoutMs?: number | undefined;
  pingEveryMs?: number | undefined;
  log?: { warn: (o: object, msg: string) => void } | undefined;
}

/** The trading stream's URL for a trading REST base URL (https://paper-api… -> wss://paper-api…/stream). */
export const streamUrl = (traderBase: string) =>
  `${traderBase.replace(/\/$/, '').replace(/^http/, 'ws')}/stream`;

/** One subscription to trade_updates that keeps itself connected until close(). */
export class AlpacaTradeStream {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private live = false;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly o: TradeStreamOptions) {}

  /** Subscribed and not dropped since. */
  get up(): boolean {
    return this.live;
  }

  start(): void {
    if (this.closed || this.ws) return;
    const ws = new WebSocket(this.o.url, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
    this.ws = ws;
    let alive = true;
    ws.on('pong', () => (alive = true));
    ws.on('open', () => {
      ws.send(JSON.stringify({ action: 'auth', key: this.o.keyId, secret: this.o.secret }));
      const opened = Date.now();
      this.watchdog = setInterval(
        () => {
          if (!this.live && Date.now() - opened >= (this.o.subscribeTimeoutMs ?? SUBSCRIBE_TIMEOUT_MS))
            return void ws.terminate();
          if (!this.live) return;
          if (!alive) return void ws.terminate();
          alive = false;
          ws.ping();
        },
        Math.min(this.o.pingEveryMs ?? PING_EVERY_MS, this.o.subscribeTimeoutMs ?? SUBSCRIBE_TIMEOUT_MS),
      );
      this.watchdog.unref();
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      const f = parseFrame(text);
      if (f.kind === 'auth') {
        if (!f.ok) {
          this.o.log?.warn({}, 'broker stream: not authorized');
          return void ws.close();
        }
        ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
      } else if (f.kind === 'listening') {
        if (!f.streams.includes('trade_updates')) return;
        this.attempt = 0;
        this.live = true;
        this.o.onLive();
      } else if (f.kind === 'event') this.o.onEvent(f.event);
      else this.o.log?.warn({ detail: f.detail }, 'broker stream: frame ignored');
    });
    ws.on('error', (e) => this.o.log?.warn({ err: e.message }, 'broker stream error'));
    ws.on('close', () => {
      clearInterval(this.watchdog);
      this.ws = undefined;
      const was = this.live;
      this.live = false;
      if (was) this.o.onDown?.('closed');
      if (this.closed) return;
      const delay = backoffDelay(this.attempt++, this.o.reconnect);
      this.timer = setTimeout(() => this.start(), delay);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    const ws = this.ws;
    if (!ws) return;
    await new Promise<void>((r) => {
      ws.once('close', () => r());
      ws.terminate();
    });
  }
}
