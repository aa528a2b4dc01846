import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  ClientFrame,
  FATAL_CLOSE_CODES,
  SUPPORTED_PROTOCOLS,
  parseServerFrame,
  type HelloFrame,
  type Signal,
  type SubscribedFrame,
} from '@catalyst-signal/shared';
import type { Config } from './config.js';
import { fetchHistory, streamUrl } from './http.js';
import { netReason } from './net-error.js';
import type { Verifier } from './verify.js';

/**
 * The stream connection: Bearer auth on the upgrade, subscribe from the journal's cursor, apply signals
 * strictly one after another in seq order, and recover from everything a network does:
 *  - gap in seq              -> re-subscribe from the last applied seq
 *  - silence                 -> no frame for heartbeat_ms * heartbeat_misses: drop the socket, reconnect
 *  - close / error           -> reconnect with exponential backoff and full jitter (fatal codes excepted)
 *  - recovered:false         -> page REST history from the cursor, else accept the gap loudly (journaled)
 *  - epoch change            -> fatal: stop trading, the operator must decide
 * The cursor itself is advanced by `apply` (in the journal, in the same transaction as the decision).
 */

export interface CursorStore {
  cursor(): { epoch: string | undefined; seq: number };
  setCursor(epoch: string, seq: number): void;
  recordGap(epoch: string, fromSeq: number, toSeq: number, reason: string, now: number): void;
}

export type VerifyResult = Awaited<ReturnType<Verifier>>;

export interface ConnectionOptions {
  baseUrl: string;
  key: string;
  server: Config['server'];
  verify: Verifier;
  cursor: CursorStore;
  /** Decide and journal one signal; resolves once the decision (and intents) are durable. */
  apply(signal: Signal, verified: VerifyResult, receivedAt: number): Promise<void>;
  log: Logger;
  random?: () => number;
  now?: () => number;
}

export class FatalStreamError extends Error {
  override name = 'FatalStreamError';
  constructor(
    readonly code: 'epoch_changed' | 'auth' | 'protocol' | 'future' | 'clock_skew',
    message: string,
  ) {
    super(message);
  }
}

/** Backoff delay for attempt n (0-based): min(max, initial * factor^n), full jitter = uniform in [0, that]. */
export function backoffDelay(
  attempt: number,
  r: Config['server']['reconnect'],
  random: () => number = Math.random,
): number {
  const cap = Math.min(r.max_delay_ms, r.initial_delay_ms * Math.pow(r.factor, attempt));
  return r.jitter === 'full' ? Math.floor(random() * cap) : cap;
}

type Item =
  | { kind: 'signal'; signal: Signal; receivedAt: number; gen: number }
  | { kind: 'behind'; sub: SubscribedFrame; gen: number };

export class Connection extends EventEmitter {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private gen = 0;
  private pendingSubs = 0;
  private caughtUp = false;
  private highestSeen = 0;
  private heartbeatMs = 15_000;
  private watchdog: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Why the current socket is going away, in words (ECONNREFUSED 127.0.0.1:8787, HTTP 502 on upgrade, ...). */
  private problem: string | undefined;
  private queue: Item[] = [];
  private draining: Promise<void> | undefined;
  private readonly now: () => number;
  epoch: string | undefined;
  lastHello: HelloFrame | undefined;

  constructor(private readonly o: ConnectionOptions) {
    super();
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Stop: no new frames are taken; the signal being applied finishes (its cursor is then on disk). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    clearTimeout(this.watchdog);
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000, 'client stopping');
    else ws?.terminate();
    await this.draining;
  }

  private fatal(err: FatalStreamError): void {
    if (this.stopped) return;
    this.o.log.fatal({ code: err.code }, err.message);
    void this.stop().then(() => this.emit('fatal', err));
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(streamUrl(this.o.baseUrl), {
      headers: { authorization: `Bearer ${this.o.key}` },
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    this.problem = undefined;
    this.gen++;
    this.pendingSubs = 0;
    this.caughtUp = false;
    this.queue = [];
    ws.on('open', () => this.armWatchdog());
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws || isBinary) return;
      this.armWatchdog();
      this.onFrame(data.toString(), ws);
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403)
        this.fatal(new FatalStreamError('auth', `server refused the key (HTTP ${status})`));
      else {
        this.problem = `HTTP ${status} on upgrade`;
        ws.terminate();
      }
    });
    // The reason is logged (and reported) once, with the reconnect that follows every error.
    ws.on('error', (e) => {
      this.problem ??= netReason(e);
      this.o.log.debug({ err: e.message }, 'stream error');
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (FATAL_CLOSE_CODES.has(code)) {
        this.fatal(new FatalStreamError('auth', `server closed the stream: ${code} ${reason.toString()}`));
        return;
      }
      this.scheduleReconnect(this.problem ?? `closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
    });
  }

  private scheduleReconnect(why: string): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.o.server.reconnect, this.o.random);
    const url = streamUrl(this.o.baseUrl);
    this.o.log.warn({ url, why, delay_ms: delay, attempt: this.attempt }, 'stream lost; reconnecting');
    this.emit('reconnecting', { why, delay, attempt: this.attempt });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    if (this.stopped) return;
    const ms = this.heartbeatMs * this.o.server.heartbeat_misses;
    this.watchdog = setTimeout(() => {
      this.o.log.warn({ silent_ms: ms }, 'no heartbeat from the server');
      this.problem ??= `no frame from the server for ${ms} ms`;
      this.emit('silence');
      this.ws?.terminate();
    }, ms);
  }

  private send(frame: object): void {
    this.ws?.send(JSON.stringify(frame));
  }

  private subscribe(why: string): void {
    const c = this.o.cursor.cursor();
    this.gen++;
    this.queue = [];
    this.pendingSubs++;
    this.caughtUp = false;
    this.highestSeen = c.seq;
    this.o.log.info({ from_seq: c.seq, epoch: c.epoch, why }, 'subscribing');
    this.send({ type: ClientFrame.subscribe, from_seq: c.seq, ...(c.epoch ? { epoch: c.epoch } : {}) });
  }

  private onFrame(text: string, ws: WebSocket): void {
    const receivedAt = this.now();
    const parsed = parseServerFrame(text);
    if (!parsed.ok) {
      this.o.log.warn({ err: parsed.error }, 'unparseable frame ignored');
      return;
    }
    const f = parsed.value;
    switch (f.type) {
      case 'hello': {
        this.lastHello = f;
        this.heartbeatMs = f.heartbeat_ms;
        this.armWatchdog();
        if (!SUPPORTED_PROTOCOLS.includes(f.protocol)) {
          return this.fatal(
            new FatalStreamError(
              'protocol',
              `server speaks protocol ${f.protocol}, this client ${SUPPORTED_PROTOCOLS.join(' or ')}`,
            ),
          );
        }
        const skew = f.time - receivedAt;
        if (Math.abs(skew) > this.o.server.max_clock_skew_ms) {
          return this.fatal(
            new FatalStreamError(
              'clock_skew',
              `clock differs from the server by ${skew} ms (max ${this.o.server.max_clock_skew_ms})`,
            ),
          );
        }
        const c = this.o.cursor.cursor();
        if (c.epoch !== undefined && c.epoch !== f.epoch) {
          return this.fatal(
            new FatalStreamError(
              'epoch_changed',
              `server epoch changed from ${c.epoch} to ${f.epoch}: its history was replaced. Trading stopped.`,
            ),
          );
        }
        this.epoch = f.epoch;
        if (c.epoch === undefined) {
          // Fresh installation: fix the starting point now so a restart continues from the same place.
          this.o.cursor.setCursor(f.epoch, this.o.server.start_from === 'head' ? f.head_seq : 0);
        }
        this.emit('hello', f, skew);
        this.subscribe('connected');
        return;
      }
      case 'subscribed': {
        this.pendingSubs = Math.max(0, this.pendingSubs - 1);
        if (this.pendingSubs > 0) return;
        this.emit('subscribed', f);
        if (f.recovered) {
          this.attempt = 0;
          return;
        }
        if (f.reason === 'epoch_mismatch') {
          return this.fatal(
            new FatalStreamError(
              'epoch_changed',
              `server refused our epoch (${f.epoch} now): trading stopped`,
            ),
          );
        }
        if (f.reason === 'future') {
          return this.fatal(
            new FatalStreamError(
              'future',
              `server head ${f.head_seq} is behind our cursor: it lost signals we applied`,
            ),
          );
        }
        this.enqueue({ kind: 'behind', sub: f, gen: this.gen });
        return;
      }
      case 'signal':
        if (this.pendingSubs > 0) return; // belongs to a stream we already moved away from
        this.highestSeen = Math.max(this.highestSeen, f.signal.seq);
        this.enqueue({ kind: 'signal', signal: f.signal, receivedAt, gen: this.gen });
        return;
      case 'caught_up':
        if (this.pendingSubs === 0) this.caughtUp = true;
        this.emit('caught_up', f.seq);
        return;
      case 'heartbeat':
        this.emit('heartbeat', f);
        // Heartbeats follow every signal up to head_seq on the same socket: a higher head means frames were lost.
        if (this.caughtUp && this.pendingSubs === 0 && f.head_seq > this.highestSeen) {
          this.o.log.warn(
            { head_seq: f.head_seq, seen: this.highestSeen },
            'heartbeat shows missed signals; re-subscribing',
          );
          this.emit('gap', { from: this.highestSeen + 1, to: f.head_seq, via: 'heartbeat' });
          if (this.ws === ws) this.subscribe('heartbeat gap');
        }
        return;
      case 'error':
        this.o.log.warn({ code: f.code, msg: f.message }, 'server error frame');
        return;
      case 'pong':
        return;
    }
  }

  private enqueue(item: Item): void {
    this.queue.push(item);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (item.gen !== this.gen) continue;
      try {
        if (item.kind === 'signal') {
          const r = await this.applyOne(item.signal, item.receivedAt);
          if (r === 'gap' && item.gen === this.gen) {
            const c = this.o.cursor.cursor();
            this.o.log.warn({ expected: c.seq + 1, got: item.signal.seq }, 'gap in seq; re-subscribing');
            this.emit('gap', { from: c.seq + 1, to: item.signal.seq - 1, via: 'seq' });
            this.subscribe('seq gap');
          }
        } else {
          const progressed = await this.catchUp(item.sub);
          if (!this.stopped && item.gen === this.gen) {
            // No way forward right now (history unavailable or not advancing): drop the socket and let
            // the reconnect backoff pace the next try, instead of a tight subscribe/REST loop.
            if (progressed) this.subscribe(`after ${item.sub.reason}`);
            else {
              this.problem ??= `${item.sub.reason}: history over REST unavailable`;
              this.ws?.terminate();
            }
          }
        }
      } catch (e) {
        if (e instanceof FatalStreamError) return this.fatal(e);
        // A failure to journal is not something to trade through: stop.
        this.o.log.fatal({ err: (e as Error).message }, 'applying a signal failed');
        void this.stop().then(() => this.emit('fatal', e));
        return;
      }
    }
  }

  private async applyOne(signal: Signal, receivedAt: number): Promise<'applied' | 'dup' | 'gap'> {
    const c = this.o.cursor.cursor();
    if (c.epoch !== undefined && signal.epoch !== c.epoch) {
      throw new FatalStreamError(
        'epoch_changed',
        `signal from epoch ${signal.epoch}, cursor is in ${c.epoch}: trading stopped`,
      );
    }
    if (signal.seq <= c.seq) return 'dup';
    if (signal.seq !== c.seq + 1) return 'gap';
    const verified = await this.o.verify(signal);
    await this.o.apply(signal, verified, receivedAt);
    this.emit('applied', signal.seq);
    return 'applied';
  }

  /**
   * recovered:false (trimmed / too_far_behind): page REST history from the cursor, else accept the gap.
   * Resolves false when neither worked, so the caller backs off instead of asking again at once.
   */
  private async catchUp(sub: SubscribedFrame): Promise<boolean> {
    const http = { baseUrl: this.o.baseUrl, key: this.o.key };
    try {
      for (;;) {
        if (this.stopped) return true;
        const c = this.o.cursor.cursor();
        const page = await fetchHistory(http, c.seq, 1000);
        if (page.epoch !== sub.epoch)
          throw new FatalStreamError('epoch_changed', `history epoch ${page.epoch} != ${sub.epoch}`);
        for (const s of page.signals) {
          if (this.stopped) return true;
          const cur = this.o.cursor.cursor();
          if (s.seq > cur.seq + 1)
            this.acceptGap(sub.epoch, cur.seq + 1, s.seq - 1, `${sub.reason}: missing from history`);
          await this.applyOne(s, this.now());
        }
        if (page.signals.length === 0 || page.next_after_seq >= page.head_seq) return true;
        // A page that did not move the cursor would be asked for again forever (a broken or hostile server).
        if (this.o.cursor.cursor().seq <= c.seq) throw new Error(`history did not advance past seq ${c.seq}`);
      }
    } catch (e) {
      if (e instanceof FatalStreamError) throw e;
      const c = this.o.cursor.cursor();
      this.o.log.error({ err: (e as Error).message }, 'cannot page history over REST');
      if (sub.first_seq - 1 <= c.seq) return false;
      this.acceptGap(sub.epoch, c.seq + 1, sub.first_seq - 1, `${sub.reason}: history unavailable`);
      return true;
    }
  }

  private acceptGap(epoch: string, from: number, to: number, reason: string): void {
    this.o.log.error(
      { from_seq: from, to_seq: to, reason },
      'ACCEPTING A GAP: these signals will never be seen',
    );
    this.o.cursor.recordGap(epoch, from, to, reason, this.now());
    this.emit('gap', { from, to, via: 'accepted' });
  }
}
