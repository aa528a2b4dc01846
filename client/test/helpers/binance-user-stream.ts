import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';

/**
 * Binance spot's user-data stream for the emulator, both ways Binance offers it:
 * - the WebSocket API (`/ws-api/v3`, `userDataStream.subscribe.signature` with apiKey, timestamp and an HMAC
 *   signature over the sorted params), which ccxt 4.5's binance watchOrders/watchMyTrades use for spot: each event
 *   arrives as `{ subscriptionId, event: {...} }`;
 * - the listenKey stream (`POST /api/v3/userDataStream` -> listenKey, `PUT` keepalive, a socket at
 *   `/ws/<listenKey>`), which sends each event bare.
 * Events are `executionReport` (one per order change and one per execution, with the execution's trade id `t`,
 * last qty `l`, last price `L`, cumulative qty `z`, commission `n`/`N`) and `outboundAccountPosition`. Like Binance,
 * nothing is replayed: an event raised while a socket is cut is lost to it.
 */

export interface UserStreamControls {
  /** Sockets subscribed now (WebSocket API subscriptions + listenKey sockets). */
  readonly subscribers: number;
  /** Events sent so far, as Binance sent them (unwrapped). */
  readonly sent: Record<string, unknown>[];
  /** Close every user-data socket (a network cut). */
  drop(): void;
  /** While true, events are not delivered (lost, as during a cut) and new subscriptions are refused. */
  cut: boolean;
  /** Send every event twice (a duplicate the client must ignore). */
  duplicate: boolean;
  /** Resolves once at least n sockets are subscribed. */
  waitForSubscribers(n: number): Promise<void>;
}

export interface UserStream extends UserStreamControls {
  emit(event: Record<string, unknown>): void;
  /** REST routes of the listenKey flow; true when handled. */
  route(
    method: string,
    path: string,
    apiKey: string | undefined,
    reply: (s: number, b: unknown) => void,
  ): boolean;
  close(): void;
}

export function attachUserStream(server: Server, creds: { apiKey: string; secret: string }): UserStream {
  const wss = new WebSocketServer({ noServer: true });
  const api = new Set<WebSocket>();
  const keyed = new Set<WebSocket>();
  const listenKeys = new Set<string>();
  const sent: Record<string, unknown>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let subscriptionId = 0;

  const count = () => api.size + keyed.size;
  const wake = () => {
    for (const w of [...waiters])
      if (count() >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };

  const verify = (params: Record<string, unknown>): boolean => {
    if (params['apiKey'] !== creds.apiKey || typeof params['signature'] !== 'string') return false;
    const query = Object.keys(params)
      .filter((k) => k !== 'signature')
      .sort()
      .map((k) => `${k}=${String(params[k])}`)
      .join('&');
    return createHmac('sha256', creds.secret).update(query).digest('hex') === params['signature'];
  };

  const onApi = (ws: WebSocket) => {
    let sub: number | undefined;
    ws.on('message', (raw: WebSocket.RawData) => {
      let req: { id?: unknown; method?: unknown; params?: Record<string, unknown> };
      try {
        req = JSON.parse(String(raw)) as typeof req;
      } catch {
        return ws.send(JSON.stringify({ id: null, status: 400, error: { code: -1, msg: 'bad json' } }));
      }
      const fail = (code: number, msg: string) =>
        ws.send(JSON.stringify({ id: req.id, status: 400, error: { code, msg } }));
      if (req.method !== 'userDataStream.subscribe.signature')
        return fail(-1, `emulator: no method ${String(req.method)}`);
      if (!verify(req.params ?? {})) return fail(-1022, 'Signature for this request is not valid.');
      if (streams.cut) return ws.terminate();
      sub = subscriptionId++;
      api.add(ws);
      ws.send(JSON.stringify({ id: req.id, status: 200, result: { subscriptionId: sub }, rateLimits: [] }));
      wake();
    });
    ws.on('close', () => api.delete(ws));
    (ws as WebSocket & { subscription?: () => number | undefined }).subscription = () => sub;
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const key = /^\/ws\/([A-Za-z0-9]+)$/.exec(path)?.[1];
    if (path !== '/ws-api/v3' && !(key && listenKeys.has(key))) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (path === '/ws-api/v3') return onApi(ws);
      if (streams.cut) return ws.terminate();
      keyed.add(ws);
      ws.on('close', () => keyed.delete(ws));
      wake();
    });
  });

  const streams: UserStream = {
    get subscribers() {
      return count();
    },
    sent,
    cut: false,
    duplicate: false,
    drop() {
      for (const ws of [...api, ...keyed]) ws.terminate();
    },
    waitForSubscribers: (n) =>
      new Promise<void>((resolve) => {
        waiters.push({ n, resolve });
        wake();
      }),
    emit(event) {
      sent.push(event);
      if (streams.cut) return;
      const times = streams.duplicate ? 2 : 1;
      for (let i = 0; i < times; i++) {
        for (const ws of api) {
          const sub = (ws as WebSocket & { subscription?: () => number | undefined }).subscription?.();
          ws.send(JSON.stringify({ subscriptionId: sub, event }));
        }
        for (const ws of keyed) ws.send(JSON.stringify(event));
      }
    },
    route(method, path, apiKey, reply) {
      if (path !== '/api/v3/userDataStream') return false;
      if (apiKey !== creds.apiKey) {
        reply(401, { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' });
        return true;
      }
      if (method === 'POST') {
        const k = randomBytes(30).toString('hex');
        listenKeys.add(k);
        reply(200, { listenKey: k });
      } else reply(200, {});
      return true;
    },
    close() {
      for (const ws of [...api, ...keyed]) ws.terminate();
      wss.close();
    },
  };
  return streams;
}
