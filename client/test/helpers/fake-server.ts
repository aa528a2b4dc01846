import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { PROTOCOL_VERSION, parseClientFrame, type Signal } from '@catalyst-signal/shared';
import { baseSignal, createSigner, type TestSigner } from './signals.js';

/**
 * A scriptable stand-in for the signal server, speaking the shared wire contract (hello, subscribe/subscribed,
 * replay, caught_up, heartbeat, REST history, JWKS). Lets connection tests inject gaps, silence, closes,
 * epoch changes and trimming deterministically. The real server is exercised by the end-to-end test.
 */

interface Sock {
  ws: WebSocket;
  subscribed: boolean;
  hb?: NodeJS.Timeout;
}

export interface FakeServerOptions {
  key?: string;
  heartbeatMs?: number;
  epoch?: string;
  maxReplay?: number;
  /** hello.protocol (default: this build's PROTOCOL_VERSION). */
  protocol?: number;
  /** Listen on this port (default 0: a free one); a test that brings a server back at the same URL passes the old one's. */
  port?: number;
  /** hello.log: announce a transparency log (the test sends the checkpoint frames itself, with sendRaw). */
  helloLog?: Record<string, unknown>;
}

export class FakeSignalServer extends EventEmitter {
  url = '';
  readonly key: string;
  epoch: string;
  heartbeatMs: number;
  maxReplay: number;
  protocol: number;
  helloLog: Record<string, unknown> | undefined;
  signals: Signal[] = [];
  firstSeq = 1;
  signer!: TestSigner;
  /** Live frames for these seqs are not sent (they stay in history): a gap on the wire. */
  dropLive = new Set<number>();
  heartbeatsOn = true;
  historyAvailable = true;
  /** A broken or hostile history endpoint: answers every page request with the first retained signal. */
  historyStuck = false;
  historyRequests = 0;
  /** A slow (or hostile) history endpoint: answers 200 and the first bytes of a page, then nothing more. */
  historyTrickle = false;
  subscribes: { from_seq: number | undefined; epoch: string | undefined }[] = [];
  connections = 0;
  private socks = new Set<Sock>();
  private http = createServer((req, res) => this.onHttp(req, res));
  private wss = new WebSocketServer({ noServer: true });

  constructor(o: FakeServerOptions = {}) {
    super();
    this.key = o.key ?? 'cat_test_key';
    this.epoch = o.epoch ?? 'ep-test';
    this.heartbeatMs = o.heartbeatMs ?? 1000;
    this.maxReplay = o.maxReplay ?? 10_000;
    this.protocol = o.protocol ?? PROTOCOL_VERSION;
    this.helloLog = o.helloLog;
  }

  static async start(o: FakeServerOptions = {}): Promise<FakeSignalServer> {
    const s = new FakeSignalServer(o);
    s.signer = await createSigner();
    s.http.on('upgrade', (req, socket, head) => {
      if (req.headers.authorization !== `Bearer ${s.key}` || !req.url?.startsWith('/v1/stream')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      s.wss.handleUpgrade(req, socket, head, (ws) => s.onSocket(ws));
    });
    await new Promise<void>((r) => s.http.listen(o.port ?? 0, '127.0.0.1', r));
    s.url = `http://127.0.0.1:${(s.http.address() as AddressInfo).port}`;
    return s;
  }

  get head(): number {
    return this.signals.length ? this.signals[this.signals.length - 1]!.seq : this.firstSeq - 1;
  }

  /** Store, sign and broadcast one signal. */
  async publish(over: Partial<Signal> = {}, opts: { badSig?: boolean } = {}): Promise<Signal> {
    const seq = this.head + 1;
    let s = await this.signer.sign(baseSignal(seq, { epoch: this.epoch, ...over }));
    if (opts.badSig) s = { ...s, confidence: s.confidence === 0.9 ? 0.91 : 0.9 };
    this.signals.push(s);
    if (!this.dropLive.has(seq))
      for (const k of this.socks) if (k.subscribed) this.send(k, { type: 'signal', signal: s });
    return s;
  }

  /** Store an already-built signal (forged, unsigned, ...) as history and broadcast it like `publish` does. */
  publishRaw(s: Signal): Signal {
    this.signals.push(s);
    if (!this.dropLive.has(s.seq))
      for (const k of this.socks) if (k.subscribed) this.send(k, { type: 'signal', signal: s });
    return s;
  }

  /** Send any frame (text or binary, valid or not) to every subscribed socket, without storing anything. */
  sendRaw(data: string | Buffer): void {
    for (const k of this.socks) if (k.subscribed && k.ws.readyState === k.ws.OPEN) k.ws.send(data);
  }

  /** Forget everything up to seq (history trimmed). */
  trim(toSeq: number): void {
    this.signals = this.signals.filter((s) => s.seq > toSeq);
    this.firstSeq = toSeq + 1;
  }

  /** A new store: new epoch, seqs restart. */
  reset(epoch: string): void {
    this.epoch = epoch;
    this.signals = [];
    this.firstSeq = 1;
  }

  closeAll(code: number, reason = ''): void {
    for (const k of this.socks) k.ws.close(code, reason);
  }

  get openSockets(): number {
    return this.socks.size;
  }

  private send(k: Sock, frame: object): void {
    if (k.ws.readyState === k.ws.OPEN) k.ws.send(JSON.stringify(frame));
  }

  private onSocket(ws: WebSocket): void {
    const k: Sock = { ws, subscribed: false };
    this.socks.add(k);
    this.connections++;
    this.emit('connection', this.connections);
    this.send(k, {
      type: 'hello',
      protocol: this.protocol,
      server_id: 'fake',
      epoch: this.epoch,
      head_seq: this.head,
      heartbeat_ms: this.heartbeatMs,
      authenticated: true,
      ...(this.helloLog ? { log: this.helloLog } : {}),
      limits: {
        max_frame_bytes: 16384,
        frames_per_second: 50,
        max_replay: this.maxReplay,
        max_backpressure_bytes: 1 << 20,
      },
      time: Date.now(),
    });
    k.hb = setInterval(() => {
      if (this.heartbeatsOn) this.send(k, { type: 'heartbeat', head_seq: this.head, time: Date.now() });
    }, this.heartbeatMs);
    ws.on('message', (d) => {
      const f = parseClientFrame(d.toString());
      if (!f.ok || f.value.type !== 'subscribe') return;
      const { from_seq, epoch } = f.value;
      this.subscribes.push({ from_seq, epoch });
      this.emit('subscribe', f.value);
      const from = from_seq ?? this.head;
      const base = {
        type: 'subscribed',
        epoch: this.epoch,
        from_seq: from,
        head_seq: this.head,
        first_seq: this.firstSeq,
        filtered: false,
      };
      const refuse = (reason: string) => {
        k.subscribed = false;
        this.send(k, { ...base, replay_count: 0, recovered: false, reason });
      };
      if (epoch !== undefined && epoch !== this.epoch) return refuse('epoch_mismatch');
      if (from > this.head) return refuse('future');
      if (from < this.firstSeq - 1) return refuse('trimmed');
      if (this.head - from > this.maxReplay) return refuse('too_far_behind');
      const replay = this.signals.filter((s) => s.seq > from);
      this.send(k, { ...base, replay_count: replay.length, recovered: true });
      for (const s of replay) this.send(k, { type: 'signal', signal: s });
      this.send(k, { type: 'caught_up', seq: this.head });
      k.subscribed = true;
    });
    ws.on('close', () => {
      clearInterval(k.hb);
      this.socks.delete(k);
    });
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/v1/keys/signing') return json(200, { keys: [this.signer.jwk] });
    if (url.pathname === '/healthz')
      return json(200, { status: 'ok', transport: 'fake', epoch: this.epoch, head_seq: this.head });
    if (url.pathname === '/v1/signals' && req.method === 'GET') {
      if (req.headers.authorization !== `Bearer ${this.key}`)
        return json(401, {
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          code: 'unauthenticated',
        });
      if (!this.historyAvailable)
        return json(503, { type: 'about:blank', title: 'Unavailable', status: 503, code: 'unavailable' });
      this.historyRequests++;
      if (this.historyTrickle) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"signals":[');
        this.emit('trickling');
        return;
      }
      const after = Number(url.searchParams.get('after_seq') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const page = this.historyStuck
        ? this.signals.slice(0, 1)
        : this.signals.filter((s) => s.seq > after).slice(0, limit);
      const next = page.length ? page[page.length - 1]!.seq : this.head;
      return json(200, { signals: page, next_after_seq: next, head_seq: this.head, epoch: this.epoch });
    }
    json(404, { type: 'about:blank', title: 'Not found', status: 404, code: 'not_found' });
  }

  async close(): Promise<void> {
    for (const k of this.socks) {
      clearInterval(k.hb);
      k.ws.terminate();
    }
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
