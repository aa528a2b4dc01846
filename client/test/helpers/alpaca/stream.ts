import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { isOpen, type Book } from './book.js';
import { orderJson } from './json.js';
import type { EmuOrder } from './types.js';

/**
 * Alpaca's trading WebSocket (`/stream`, `trade_updates`) on the emulator's HTTP server, and the FILL account
 * activities that reconcile what the stream missed. The stream has no replay, like Alpaca's: an event raised while
 * no socket listens is lost, only REST can tell it afterwards.
 *
 * Events are found by comparing every order (and leg) with what was last seen (pump()), so the book needs no hook
 * of its own: whatever moved an order (a request, a quote, a fill, the clock, a replace) is reported the same way.
 */

export type TradeEvent = 'new' | 'fill' | 'partial_fill' | 'canceled' | 'expired' | 'replaced' | 'rejected';

export interface StreamEvent {
  event: TradeEvent;
  execution_id?: string;
  order: Record<string, unknown>;
  timestamp: string;
  price?: string;
  qty?: string;
  position_qty?: string;
}

/** One execution, as GET /v2/account/activities/FILL lists it. */
export interface FillActivity {
  id: string;
  activity_type: 'FILL';
  transaction_time: string;
  type: 'fill' | 'partial_fill';
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  symbol: string;
  leaves_qty: string;
  order_id: string;
  cum_qty: string;
  order_status: string;
  /** Emulator order, for tests; not on the wire. */
  at: number;
}

export interface StreamControls {
  /** Send events as binary frames (Alpaca's paper stream does) or as text. Default binary. */
  binary: boolean;
  /** Send every event twice. */
  duplicate: boolean;
  /** Send each batch of events (those one change raised) in reverse order. */
  reorder: boolean;
  /** Accept sockets but never answer them (a stuck server): the client must give up and dial again. */
  silent: boolean;
}

const STATUS_EVENTS: Partial<Record<EmuOrder['status'] | 'replaced', TradeEvent>> = {
  canceled: 'canceled',
  expired: 'expired',
  rejected: 'rejected',
  replaced: 'replaced',
};
const num = (x: number) => String(Math.round(x * 1e9) / 1e9);

export class TradeStream {
  readonly controls: StreamControls = { binary: true, duplicate: false, reorder: false, silent: false };
  readonly activities: FillActivity[] = [];
  /** Every event raised, delivered or not (tests compare the journal with it). */
  readonly raised: StreamEvent[] = [];
  private readonly seen = new Map<string, { status: string; filled: number; avg: number }>();
  private readonly wss: WebSocketServer;
  private readonly listening = new Set<WebSocket>();
  private cut = false;
  private counter = 0;

  constructor(
    server: Server,
    private readonly book: Book,
    private readonly auth: (key: string, secret: string) => boolean,
  ) {
    this.wss = new WebSocketServer({ server, path: '/stream', maxPayload: 64 * 1024 });
    this.wss.on('connection', (ws) => this.accept(ws));
  }

  /** Sockets that completed authenticate + listen. */
  get subscribers(): number {
    return this.listening.size;
  }

  private send(ws: WebSocket, msg: unknown): void {
    const text = JSON.stringify(msg);
    ws.send(this.controls.binary ? Buffer.from(text) : text, { binary: this.controls.binary });
  }

  /** Sockets ever accepted (a reconnecting client dials again). */
  connections = 0;

  private accept(ws: WebSocket): void {
    if (this.cut) return void ws.terminate();
    this.connections += 1;
    let authed = false;
    ws.on('message', (raw) => {
      if (this.controls.silent) return;
      let m: { action?: string; key?: string; secret?: string; data?: Record<string, unknown> };
      try {
        m = JSON.parse(String(raw)) as typeof m;
      } catch {
        return this.send(ws, { stream: 'error', data: { error_message: 'invalid syntax' } });
      }
      if (m.action === 'auth' || m.action === 'authenticate') {
        // Legacy shape (ccxt): {action:'authenticate', data:{key_id, secret_key}}; current: {action:'auth', key, secret}.
        const key = String(m.key ?? m.data?.['key_id'] ?? '');
        const secret = String(m.secret ?? m.data?.['secret_key'] ?? '');
        authed = this.auth(key, secret);
        this.send(ws, {
          stream: 'authorization',
          data: { action: 'authenticate', status: authed ? 'authorized' : 'unauthorized' },
        });
        if (!authed) ws.close();
        return;
      }
      if (m.action === 'listen') {
        if (!authed) return this.send(ws, { stream: 'error', data: { error_message: 'not authenticated' } });
        const streams = (m.data?.['streams'] as string[] | undefined) ?? [];
        if (streams.includes('trade_updates')) this.listening.add(ws);
        else this.listening.delete(ws);
        this.send(ws, {
          stream: 'listening',
          data: { streams: streams.filter((s) => s === 'trade_updates') },
        });
      }
    });
    ws.on('close', () => this.listening.delete(ws));
    ws.on('error', () => this.listening.delete(ws));
  }

  /** Compare every order with what was last seen, raise and deliver the events that explain the difference. */
  pump(): void {
    const batch: StreamEvent[] = [];
    const now = this.book.now();
    for (const parent of this.book.orders) {
      for (const o of [parent, ...parent.legs]) {
        const prev = this.seen.get(o.id);
        const cur = { status: o.status as string, filled: o.filled_qty, avg: o.filled_avg_price ?? 0 };
        if (prev && prev.status === cur.status && prev.filled === cur.filled) continue;
        this.seen.set(o.id, cur);
        const json = orderJson(o, !o.parent);
        const ts = new Date(now).toISOString();
        if (!prev) batch.push({ event: 'new', order: json, timestamp: ts });
        const before = prev ?? { status: '', filled: 0, avg: 0 };
        const qty = cur.filled - before.filled;
        if (qty > 1e-9) {
          const price = (cur.filled * cur.avg - before.filled * before.avg) / qty;
          const done = o.status === 'filled';
          const execution = randomUUID();
          const position = this.book.positions.get(o.symbol)?.qty ?? 0;
          batch.push({
            event: done ? 'fill' : 'partial_fill',
            execution_id: execution,
            order: json,
            timestamp: ts,
            price: num(price),
            qty: num(qty),
            position_qty: num(position),
          });
          this.counter += 1;
          this.activities.push({
            id: `${ts.replace(/\D/g, '').slice(0, 17)}::${execution}`,
            activity_type: 'FILL',
            transaction_time: ts,
            type: done ? 'fill' : 'partial_fill',
            price: num(price),
            qty: num(qty),
            side: o.side,
            symbol: o.symbol,
            leaves_qty: num((o.qty ?? cur.filled) - cur.filled),
            order_id: o.id,
            cum_qty: num(cur.filled),
            order_status: o.status,
            at: this.counter,
          });
        }
        const ended = STATUS_EVENTS[o.status];
        if (ended && before.status !== o.status) batch.push({ event: ended, order: json, timestamp: ts });
      }
    }
    if (!batch.length) return;
    this.raised.push(...batch);
    if (this.controls.reorder) batch.reverse();
    for (const e of batch) {
      for (let n = 0; n < (this.controls.duplicate ? 2 : 1); n++)
        for (const ws of this.listening) this.send(ws, { stream: 'trade_updates', data: e });
    }
  }

  /** Cut every stream socket; with `hold`, refuse new ones until restore(). Events raised meanwhile are lost. */
  drop(hold = false): void {
    this.cut = hold;
    for (const ws of this.wss.clients) ws.terminate();
    this.listening.clear();
  }

  restore(): void {
    this.cut = false;
  }

  /** GET /v2/account/activities/FILL: oldest first with direction=asc, else newest first; after/until; paged. */
  fills(q: Record<string, string>): FillActivity[] {
    const after = q['after'] ? Date.parse(q['after']) : -Infinity;
    const until = q['until'] ? Date.parse(q['until']) : Infinity;
    const size = Math.min(100, Number(q['page_size'] ?? 100) || 100);
    let list = this.activities.filter((a) => {
      const t = Date.parse(a.transaction_time);
      return t > after && t <= until;
    });
    if (q['direction'] !== 'asc') list = [...list].reverse();
    const token = q['page_token'];
    if (token) {
      const i = list.findIndex((a) => a.id === token);
      list = i >= 0 ? list.slice(i + 1) : list;
    }
    return list.slice(0, size);
  }

  /** Orders still open in the book (for the broker-app controls). */
  open(symbol: string): EmuOrder[] {
    return this.book.orders.flatMap((o) => [o, ...o.legs]).filter((o) => o.symbol === symbol && isOpen(o));
  }

  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

/** An activity as Alpaca sends it (without the emulator's bookkeeping). */
export const activityJson = ({ at: _at, ...a }: FillActivity) => a;
