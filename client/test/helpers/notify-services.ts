import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';

/**
 * Notification services on 127.0.0.1 (port 0), each speaking its API the way the client meets it: ntfy's JSON
 * publish, a Discord webhook (with scriptable 429 + retry_after), the Telegram Bot API's sendMessage (answering 429
 * when a chat gets more than one message a second, as Telegram does), and a plain JSON webhook. Each records
 * every request (method, path, headers, parsed body, arrival time). ntfy also speaks publish-by-topic (POST
 * /<topic>, the body is the message: what an `http` action button sends) and subscribe (GET /<topic>/json, an
 * open stream of one JSON message per line, cached messages first).
 */

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
  status: number;
}

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export class ServiceServer extends EventEmitter {
  url = '';
  readonly received: Received[] = [];
  /** Answers for the next requests, in order (after them: the service's normal answer). */
  readonly script: Reply[] = [];
  /** Telegram: the last message time per chat, to answer 429 within a second. */
  private readonly lastPerChat = new Map<string, number>();
  private readonly http = createServer((req, res) => void this.onRequest(req, res));
  /** ntfy: messages published per topic, and the open subscriptions. */
  private readonly topics = new Map<string, object[]>();
  private readonly subscribers = new Map<string, Set<ServerResponse>>();

  private constructor(readonly kind: 'ntfy' | 'discord' | 'telegram' | 'json') {
    super();
  }

  static async start(kind: ServiceServer['kind']): Promise<ServiceServer> {
    const s = new ServiceServer(kind);
    await new Promise<void>((r) => s.http.listen(0, '127.0.0.1', r));
    s.url = `http://127.0.0.1:${(s.http.address() as AddressInfo).port}`;
    return s;
  }

  get host(): string {
    return this.url.replace(/^http:\/\//, '');
  }

  /** Requests that were answered 2xx. */
  get delivered(): Received[] {
    return this.received.filter((r) => r.status < 300);
  }

  /** Resolves once `n` requests were answered 2xx. */
  waitDelivered(n: number, timeoutMs = 20_000): Promise<Received[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.delivered.length < n) return;
        clearTimeout(timer);
        this.off('request', check);
        resolve(this.delivered);
      };
      const timer = setTimeout(() => {
        this.off('request', check);
        reject(
          new Error(
            `${this.kind}: ${this.delivered.length}/${n} delivered; got ${JSON.stringify(this.received.map((r) => r.status))}`,
          ),
        );
      }, timeoutMs);
      this.on('request', check);
      check();
    });
  }

  /** Resolves once `n` requests arrived, whatever their answer. */
  waitReceived(n: number, timeoutMs = 20_000): Promise<Received[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.received.length < n) return;
        clearTimeout(timer);
        this.off('request', check);
        resolve(this.received);
      };
      const timer = setTimeout(() => {
        this.off('request', check);
        reject(new Error(`${this.kind}: ${this.received.length}/${n} requests`));
      }, timeoutMs);
      this.on('request', check);
      check();
    });
  }

  close(): Promise<void> {
    this.http.closeAllConnections();
    return new Promise((r) => this.http.close(() => r()));
  }

  /** ntfy: publish `message` to `topic` (as a phone's action button does), to every subscriber. */
  publishTo(topic: string, message: string): object {
    const m = {
      id: `m${this.received.length}-${Date.now()}`,
      time: Math.floor(Date.now() / 1000),
      event: 'message',
      topic,
      message,
    };
    const list = this.topics.get(topic) ?? [];
    list.push(m);
    this.topics.set(topic, list);
    for (const s of this.subscribers.get(topic) ?? []) s.write(JSON.stringify(m) + '\n');
    return m;
  }

  /** ntfy: how many streams follow `topic` now. */
  subscriberCount(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sub =
      this.kind === 'ntfy' && req.method === 'GET' ? /^\/([\w-]+)\/json\b/.exec(req.url ?? '') : null;
    if (sub) {
      const topic = sub[1]!;
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(JSON.stringify({ id: 'open', event: 'open', topic }) + '\n');
      for (const m of this.topics.get(topic) ?? []) res.write(JSON.stringify(m) + '\n');
      const set = this.subscribers.get(topic) ?? new Set();
      set.add(res);
      this.subscribers.set(topic, set);
      res.on('close', () => set.delete(res));
      this.emit('subscribed', topic);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      body = { unparsable: true, raw: Buffer.concat(chunks).toString('utf8') };
    }
    const pub = this.kind === 'ntfy' && req.method === 'POST' ? /^\/([\w-]+)$/.exec(req.url ?? '') : null;
    if (pub) {
      const m = this.publishTo(pub[1]!, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(m));
      return;
    }
    const at = Date.now();
    const reply = this.script.shift() ?? this.normal(req, body, at);
    const rec: Received = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      at,
      status: reply.status,
    };
    this.received.push(rec);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body ?? {}));
    this.emit('request', rec);
  }

  private normal(req: IncomingMessage, body: Record<string, unknown>, at: number): Reply {
    if (req.method !== 'POST') return { status: 405 };
    switch (this.kind) {
      case 'ntfy':
        if (req.url !== '/' || typeof body['topic'] !== 'string')
          return { status: 400, body: { code: 40001 } };
        return {
          status: 200,
          body: { id: String(this.received.length), event: 'message', topic: body['topic'] },
        };
      case 'discord': {
        if (!/^\/api\/webhooks\/\d+\/[\w-]+\?wait=true$/.test(req.url ?? '')) return { status: 404 };
        const embeds = (body['embeds'] ?? []) as { fields?: { value: string }[] }[];
        // Discord refuses a field value over 1,024 characters (50035 Invalid Form Body).
        if (embeds.some((e) => (e.fields ?? []).some((f) => f.value.length > 1024)))
          return { status: 400, body: { code: 50035, message: 'Invalid Form Body' } };
        return { status: 200, body: { id: '1', ...body } };
      }
      case 'telegram': {
        if (!/^\/bot\d+:[\w-]+\/sendMessage$/.test(req.url ?? ''))
          return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
        const chat = String(body['chat_id']);
        const last = this.lastPerChat.get(chat);
        if (last !== undefined && at - last < 1000)
          return {
            status: 429,
            body: {
              ok: false,
              error_code: 429,
              description: 'Too Many Requests: retry after 1',
              parameters: { retry_after: 1 },
            },
          };
        this.lastPerChat.set(chat, at);
        return { status: 200, body: { ok: true, result: { message_id: this.received.length + 1 } } };
      }
      case 'json':
        return { status: 200, body: { ok: true } };
    }
  }
}
