import { FATAL_CLOSE_CODES } from '../close-codes.js';
import { formatDuration } from '../duration.js';
import type {
  CheckpointFrame,
  CosignFrame,
  Filters,
  HeartbeatFrame,
  HelloFrame,
  SubscribedFrame,
} from '../frames.js';
import {
  ClientFrame,
  DEFAULTS,
  SUPPORTED_PROTOCOLS,
  PROTOCOL_VERSION_UNSIGNED_SIGNALS,
  WS_BEARER_PROTOCOL_PREFIX,
  WS_SUBPROTOCOL,
} from '../protocol.js';
import { backoffDelay, type ReconnectPolicy } from './backoff.js';
import { signalCodec, type StreamCodec } from './codec.js';
import { TypedEmitter } from './emitter.js';
import { discardSocket, type StreamSocket, type WebSocketConstructor } from './socket.js';

/**
 * The stream state machine, with no transport, clock or storage of its own (so a browser page and the Node
 * CLI run the same resume logic):
 *   hello -> subscribe(from_seq = last applied, epoch, filters) -> items in seq order -> caught_up -> live
 *  - gap in seq              -> re-subscribe from the last applied seq
 *  - heartbeat head > seen   -> the last frames were lost: re-subscribe
 *  - silence                 -> no frame for heartbeat_ms * heartbeat_misses: drop the socket, reconnect
 *  - close / error           -> reconnect: with several URLs the first switch is immediate, then (and with
 *                               one URL always) exponential backoff with full jitter; fatal codes excepted
 *  - recovered:false         -> the onBehind hook (the CLI pages REST history), else accept the gap
 *  - epoch change            -> fatal: the history was replaced, the owner must decide
 *  - apply rejects an item   -> (StreamItemRejected: e.g. its signature does not verify) never applied, never
 *                               skipped: the cursor stays, that URL is dropped and the next one asked for the
 *                               same seq; rejected by every URL (or the only one) -> fatal 'bad_signature'
 * Items are applied one at a time: the next is not applied until the previous `apply` resolved.
 */

/** Where the stream is: the last applied seq of an epoch (undefined epoch: never connected). */
export interface StreamCursor {
  cursor(): { epoch: string | undefined; seq: number };
  setCursor(epoch: string, seq: number): void;
  /** Give up on from..to for good (never streamed, never in history) and move the cursor to `to`. */
  recordGap(epoch: string, fromSeq: number, toSeq: number, reason: string, now: number): void;
}

/** A cursor in memory (a page that starts from the head each time it loads). */
export function memoryCursor(epoch?: string, seq = 0): StreamCursor {
  const c = { epoch, seq };
  return {
    cursor: () => ({ ...c }),
    setCursor: (e, s) => void Object.assign(c, { epoch: e, seq: s }),
    recordGap: (e, _from, to) => void Object.assign(c, { epoch: e, seq: to }),
  };
}

export interface StreamClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Structured logging, pino-compatible (obj, msg); optional. */
export interface StreamLog {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  fatal?(obj: Record<string, unknown>, msg: string): void;
}

export interface StreamPolicy {
  heartbeat_misses: number;
  reconnect: ReconnectPolicy;
  /** A hello whose clock differs from ours by more is fatal; undefined: not checked. */
  max_clock_skew_ms?: number | undefined;
  /** First connection of a fresh cursor: from the head (live only) or everything retained. */
  start_from: 'head' | 'all';
}

export type StreamFatalCode =
  | 'epoch_changed'
  | 'auth'
  | 'protocol'
  | 'future'
  | 'clock_skew'
  | 'apply_failed'
  | 'bad_signature'
  | 'invalid_signal';

/** Why an item was refused: its signature, or its content (a signed item the contract does not allow). */
export type RejectionCode = 'bad_signature' | 'invalid_signal';

export class StreamFatalError extends Error {
  override name = 'StreamFatalError';
  constructor(
    readonly code: StreamFatalCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Thrown by `apply` (or onBehind) for an item that must not be applied as served (its signature does not
 * verify): the core neither applies nor skips it, it asks another URL for the same seq. `url`: the stream URL
 * of the gateway that served it, when that is not the socket in use (history paged over REST elsewhere).
 */
export class StreamItemRejected extends Error {
  override name = 'StreamItemRejected';
  constructor(
    readonly seq: number,
    readonly why: string,
    readonly url?: string,
    readonly code: RejectionCode = 'bad_signature',
  ) {
    super(`seq ${seq} rejected: ${why}`);
  }
}

export interface ItemMeta {
  seq: number;
  epoch: string;
  /** Clock reading when the frame arrived (for latency; history items: when fetched). */
  receivedAt: number;
}

export type ApplyOutcome = 'applied' | 'dup' | 'gap';

/** What onBehind (recovered:false) may do: apply items in order, accept a gap, look at the cursor. */
export interface CatchUpContext<T> {
  /** The stream URL in use (its REST base is the same host). */
  url: string;
  stopped(): boolean;
  cursor(): { epoch: string | undefined; seq: number };
  applyItem(item: T, meta: ItemMeta): Promise<ApplyOutcome>;
  acceptGap(epoch: string, from: number, to: number, reason: string): void;
}

export interface StreamCoreOptions<T> {
  /** Stream URLs (ws:// or wss://); with several, a lost one fails over to the next. All serve one log. */
  urls: readonly string[];
  WebSocket: WebSocketConstructor;
  /** Sent as subprotocols `catalyst.v1, bearer.<token>` (a browser cannot set an Authorization header). */
  token?: string | undefined;
  /** 'frame': keep the token out of the handshake and send it as the first frame (`auth`) instead. */
  tokenIn?: 'subprotocol' | 'frame' | undefined;
  /** Subprotocols to offer instead (a transport that authenticates another way passes []). */
  protocols?: readonly string[] | undefined;
  policy: StreamPolicy;
  /** Decide and record one item; resolve only once it is durable (and its cursor moved, if the store does). */
  apply(item: T, meta: ItemMeta): Promise<void>;
  /** Default: a cursor in memory. The core moves it after each apply unless apply already did. */
  cursor?: StreamCursor | undefined;
  /** recovered:false (trimmed, too_far_behind). Resolves true if it moved forward, false to back off. */
  onBehind?: ((sub: SubscribedFrame, ctx: CatchUpContext<T>) => Promise<boolean>) | undefined;
  codec?: StreamCodec<T> | undefined;
  filters?: Filters | undefined;
  /**
   * Transparency-log checkpoint frames: asked for in every subscribe when the server's hello has `log`, with
   * the size this client verified last; each frame is handed over as it arrives, never queued behind an
   * apply (an apply may be waiting for exactly this frame's proof).
   */
  checkpoints?:
    | {
        fromSize(hello: HelloFrame): number | undefined;
        /** `reply` sends a `cosign` frame on the socket the checkpoint came from (a witness; dropped once it closed). */
        onFrame(frame: CheckpointFrame, url: string, reply: (f: CosignFrame) => void): void;
      }
    | undefined;
  clock?: StreamClock | undefined;
  random?: (() => number) | undefined;
  supportedProtocols?: readonly number[] | undefined;
  /** Words for an error event (ECONNREFUSED 127.0.0.1:8787); the socket lets a transport add its own. */
  describeError?: ((ev: unknown, socket: StreamSocket) => string) | undefined;
  log?: StreamLog | undefined;
}

export type GapVia = 'seq' | 'heartbeat' | 'accepted';

export interface StreamEvents<T> {
  connected: { hello: HelloFrame; url: string; skewMs: number };
  subscribed: { frame: SubscribedFrame; url: string };
  caught_up: { seq: number };
  /** An item frame arrived (before it is applied). */
  frame: { item: T } & ItemMeta;
  applied: { item: T } & ItemMeta;
  heartbeat: { frame: HeartbeatFrame };
  gap: { from: number; to: number; via: GapVia };
  silence: { silentMs: number; url: string };
  reconnecting: { attempt: number; delayMs: number; reason: string; url: string; nextUrl: string };
  /** apply refused the item at seq from url (not applied, cursor unchanged); another URL is tried next. */
  rejected: { seq: number; url: string; why: string };
  fatal: { code: StreamFatalCode; message: string; error: unknown };
  closed: { reason: string };
}

type Queued<T> =
  | { kind: 'item'; item: T; meta: ItemMeta; gen: number }
  | { kind: 'invalid'; meta: ItemMeta; error: string; gen: number }
  | { kind: 'behind'; sub: SubscribedFrame; gen: number };

const defaultClock: StreamClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as Parameters<typeof clearTimeout>[0]),
};

const describeDefault = (ev: unknown): string => {
  const m = (ev as { message?: unknown } | null)?.message;
  return typeof m === 'string' && m ? m : 'connection error';
};

export class StreamCore<T> extends TypedEmitter<StreamEvents<T>> {
  private ws: StreamSocket | undefined;
  private urlIndex = 0;
  /** Failed attempts since the last healthy subscription (drives the backoff). */
  private attempt = 0;
  /**
   * Sockets in a row the server dropped by breaking the protocol (penalise: a frame over the bound) with no
   * item applied since: a subscription only brings the backoff back down to this, so such a server is asked
   * less and less often instead of in a tight loop.
   */
  private strikes = 0;
  private stopped = true;
  private gen = 0;
  private pendingSubs = 0;
  private caughtUp = false;
  private highestSeen = 0;
  private heartbeatMs: number = DEFAULTS.heartbeatMs;
  private watchdog: unknown;
  private reconnectTimer: unknown;
  /** Why the current socket is going away, in words (ECONNREFUSED 127.0.0.1:8787, HTTP 502 on upgrade...). */
  private problem: string | undefined;
  private queue: Queued<T>[] = [];
  /** The seq being refused, and by which URLs (why): cleared once that seq is applied. */
  private rejections: { seq: number; byUrl: Map<string, string> } | undefined;
  private draining: Promise<void> | undefined;
  private readonly clock: StreamClock;
  private readonly random: () => number;
  private readonly codec: StreamCodec<T>;
  private readonly store: StreamCursor;
  private readonly log: StreamLog | undefined;
  epoch: string | undefined;
  lastHello: HelloFrame | undefined;

  constructor(private readonly o: StreamCoreOptions<T>) {
    super();
    if (o.urls.length === 0) throw new Error('StreamCore needs at least one URL');
    this.clock = o.clock ?? defaultClock;
    this.random = o.random ?? Math.random;
    this.codec = o.codec ?? (signalCodec as unknown as StreamCodec<T>);
    this.store = o.cursor ?? memoryCursor();
    this.log = o.log;
  }

  /** The URL in use (or about to be tried). */
  get url(): string {
    return this.o.urls[this.urlIndex]!;
  }

  cursor(): { epoch: string | undefined; seq: number } {
    return this.store.cursor();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Stop: no new frames are taken; the item being applied finishes (its cursor is then durable). */
  async stop(reason = 'client stopping'): Promise<void> {
    if (this.stopped) return this.draining;
    this.stopped = true;
    this.queue = [];
    this.clock.clearTimeout(this.watchdog);
    this.clock.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws) discardSocket(ws, { code: 1000, reason: 'client stopping' });
    await this.draining;
    this.emit('closed', { reason });
  }

  /**
   * The transport dropped the current socket for a protocol violation of the server's (a message over the
   * size bound): the backoff keeps growing across such drops (see `strikes`) until an item is applied.
   */
  penalise(): void {
    this.strikes++;
  }

  /** Stop for good with a reason the owner must act on (a transport can call it: HTTP 401 on upgrade). */
  fail(code: StreamFatalCode, message: string, error: unknown = new StreamFatalError(code, message)): void {
    if (this.stopped) return;
    if (this.log) (this.log.fatal ?? this.log.error).call(this.log, { code, url: this.url }, message);
    void this.stop(`fatal: ${message}`).then(() => this.emit('fatal', { code, message, error }));
  }

  private connect(): void {
    if (this.stopped) return;
    const url = this.url;
    const protocols = this.o.protocols
      ? [...this.o.protocols]
      : this.o.token && this.o.tokenIn !== 'frame'
        ? [WS_SUBPROTOCOL, `${WS_BEARER_PROTOCOL_PREFIX}${this.o.token}`]
        : undefined;
    this.problem = undefined;
    this.gen++;
    this.pendingSubs = 0;
    this.caughtUp = false;
    this.queue = [];
    let ws: StreamSocket;
    try {
      ws = protocols?.length ? new this.o.WebSocket(url, protocols) : new this.o.WebSocket(url);
    } catch (e) {
      this.lost(`cannot open ${url}: ${describeDefault(e)}`);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws === ws) this.armWatchdog();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return;
      this.armWatchdog();
      this.onFrame(ev.data, ws);
    };
    // The reason is logged (and reported) once, with the reconnect that follows every error.
    ws.onerror = (ev) => {
      if (this.ws !== ws) return;
      const why = (this.o.describeError ?? describeDefault)(ev, ws);
      this.problem ??= why;
      this.log?.debug({ err: why, url }, 'stream error');
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.clock.clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (FATAL_CLOSE_CODES.has(ev.code)) {
        this.fail('auth', `server closed the stream: ${ev.code} ${ev.reason}`);
        return;
      }
      this.lost(this.problem ?? `closed ${ev.code}${ev.reason ? ` ${ev.reason}` : ''}`);
    };
  }

  /** Give up on the current socket now (silence, no way forward) and reconnect; no waiting for its close. */
  private drop(why: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.problem ??= why;
    this.ws = undefined;
    this.clock.clearTimeout(this.watchdog);
    discardSocket(ws, undefined);
    if (!this.stopped) this.lost(this.problem);
  }

  /** The socket is gone: next URL (if several), after a delay. */
  private lost(why: string): void {
    if (this.stopped) return;
    const n = this.o.urls.length;
    const from = this.url;
    // Another gateway serves the same log: switch at once the first time, then pace the whole list.
    const immediate = n > 1 && this.attempt === 0;
    const delay = immediate
      ? 0
      : backoffDelay(n > 1 ? this.attempt - 1 : this.attempt, this.o.policy.reconnect, this.random);
    this.attempt++;
    this.urlIndex = (this.urlIndex + 1) % n;
    const log = { url: from, why, delay_ms: delay, attempt: this.attempt };
    this.log?.warn(n > 1 ? { ...log, next_url: this.url } : log, 'stream lost; reconnecting');
    this.emit('reconnecting', {
      attempt: this.attempt,
      delayMs: delay,
      reason: why,
      url: from,
      nextUrl: this.url,
    });
    this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delay);
  }

  private armWatchdog(): void {
    this.clock.clearTimeout(this.watchdog);
    if (this.stopped) return;
    const ms = this.heartbeatMs * this.o.policy.heartbeat_misses;
    const ws = this.ws;
    this.watchdog = this.clock.setTimeout(() => {
      if (this.ws !== ws || !ws) return;
      this.log?.warn({ silent_ms: ms, url: this.url }, 'no heartbeat from the server');
      this.emit('silence', { silentMs: ms, url: this.url });
      this.drop(`no frame from the server for ${formatDuration(ms)}`);
    }, ms);
  }

  private send(frame: object): void {
    this.ws?.send(JSON.stringify(frame));
  }

  private subscribe(why: string): void {
    const c = this.store.cursor();
    this.gen++;
    this.queue = [];
    this.pendingSubs++;
    this.caughtUp = false;
    this.highestSeen = c.seq;
    this.log?.info({ from_seq: c.seq, epoch: c.epoch, why }, 'subscribing');
    this.send({
      type: ClientFrame.subscribe,
      from_seq: c.seq,
      ...(c.epoch ? { epoch: c.epoch } : {}),
      ...(this.o.filters ? { filters: this.o.filters } : {}),
      ...this.checkpointsAsk(),
    });
  }

  /** subscribe.checkpoints, only to a server that announced its log (an older one refuses the field). */
  private checkpointsAsk(): { checkpoints?: { from_size?: number } } {
    const hello = this.lastHello;
    if (!this.o.checkpoints || !hello?.log) return {};
    const from = this.o.checkpoints.fromSize(hello);
    return { checkpoints: from !== undefined ? { from_size: from } : {} };
  }

  private onFrame(text: string, ws: StreamSocket): void {
    const receivedAt = this.clock.now();
    const parsed = this.codec.decode(text);
    if (!parsed.ok) {
      this.log?.warn({ err: parsed.error }, 'unparseable frame ignored');
      return;
    }
    const f = parsed.value;
    switch (f.type) {
      case 'hello': {
        this.lastHello = f;
        this.heartbeatMs = f.heartbeat_ms;
        this.armWatchdog();
        const supported = this.o.supportedProtocols ?? SUPPORTED_PROTOCOLS;
        if (!supported.includes(f.protocol))
          return this.fail(
            'protocol',
            `server speaks protocol ${f.protocol}, this client ${supported.join(' or ')}`,
          );
        // Protocol 3's signals stand on the transparency log alone: a hello without the log cannot be followed.
        if (f.protocol === PROTOCOL_VERSION_UNSIGNED_SIGNALS && !f.log)
          return this.fail(
            'protocol',
            `server speaks protocol ${f.protocol} (signals proven by its transparency log) but announces no log`,
          );
        if (!f.authenticated) {
          // Opened without credentials: authenticate in-band; the server answers with a second hello.
          if (this.o.token) this.send({ type: ClientFrame.auth, token: this.o.token });
          else this.fail('auth', 'the server wants credentials and none were given');
          return;
        }
        const skew = f.time - receivedAt;
        const maxSkew = this.o.policy.max_clock_skew_ms;
        if (maxSkew !== undefined && Math.abs(skew) > maxSkew)
          return this.fail(
            'clock_skew',
            `this machine's clock is ${formatDuration(Math.abs(skew))} ${skew < 0 ? 'ahead of' : 'behind'} the server's (max ${formatDuration(maxSkew)})`,
          );
        const c = this.store.cursor();
        if (c.epoch !== undefined && c.epoch !== f.epoch) {
          // In a cluster every gateway serves one log: another epoch is another history, never a failover.
          const where = this.o.urls.length > 1 ? ` (at ${this.url})` : '';
          return this.fail(
            'epoch_changed',
            `server epoch changed from ${c.epoch} to ${f.epoch}${where}: its history was replaced. Trading stopped.`,
          );
        }
        this.epoch = f.epoch;
        // Fresh start: fix the starting point now so a restart continues from the same place.
        if (c.epoch === undefined)
          this.store.setCursor(f.epoch, this.o.policy.start_from === 'head' ? f.head_seq : 0);
        this.emit('connected', { hello: f, url: this.url, skewMs: skew });
        this.subscribe('connected');
        return;
      }
      case 'subscribed': {
        this.pendingSubs = Math.max(0, this.pendingSubs - 1);
        if (this.pendingSubs > 0) return;
        this.emit('subscribed', { frame: f, url: this.url });
        if (f.recovered) {
          this.attempt = this.strikes;
          return;
        }
        if (f.reason === 'epoch_mismatch')
          return this.fail('epoch_changed', `server refused our epoch (${f.epoch} now): trading stopped`);
        if (f.reason === 'future')
          return this.fail(
            'future',
            `server head ${f.head_seq} is behind our cursor: it lost signals we applied`,
          );
        this.enqueue({ kind: 'behind', sub: f, gen: this.gen });
        return;
      }
      case 'item': {
        if (this.pendingSubs > 0) return; // belongs to a stream we already moved away from
        this.highestSeen = Math.max(this.highestSeen, f.seq);
        const meta = { seq: f.seq, epoch: f.epoch, receivedAt };
        this.emit('frame', { item: f.item, ...meta });
        this.enqueue({ kind: 'item', item: f.item, meta, gen: this.gen });
        return;
      }
      case 'invalid_item': {
        if (this.pendingSubs > 0) return;
        this.highestSeen = Math.max(this.highestSeen, f.seq);
        const meta = { seq: f.seq, epoch: f.epoch, receivedAt };
        this.enqueue({ kind: 'invalid', meta, error: f.error, gen: this.gen });
        return;
      }
      case 'caught_up':
        if (this.pendingSubs === 0) this.caughtUp = true;
        this.emit('caught_up', { seq: f.seq });
        return;
      case 'heartbeat':
        this.emit('heartbeat', { frame: f });
        // Heartbeats follow every item up to head_seq on the same socket: a higher head means frames were lost.
        if (this.caughtUp && this.pendingSubs === 0 && f.head_seq > this.highestSeen) {
          this.log?.warn(
            { head_seq: f.head_seq, seen: this.highestSeen },
            'heartbeat shows missed signals; re-subscribing',
          );
          this.emit('gap', { from: this.highestSeen + 1, to: f.head_seq, via: 'heartbeat' });
          if (this.ws === ws) this.subscribe('heartbeat gap');
        }
        return;
      case 'error':
        this.log?.warn({ code: f.code, msg: f.message }, 'server error frame');
        return;
      case 'pong':
        return;
      case 'checkpoint':
        // A signed checkpoint stands on its own (it is verified, not trusted): even one from a stream we are
        // moving away from is as good as any.
        this.o.checkpoints?.onFrame(f, this.url, (c) => {
          if (this.ws === ws) ws.send(JSON.stringify(c));
        });
        return;
    }
  }

  private enqueue(q: Queued<T>): void {
    this.queue.push(q);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const q = this.queue.shift()!;
      if (q.gen !== this.gen) continue;
      try {
        if (q.kind === 'item' || q.kind === 'invalid') {
          const r =
            q.kind === 'item' ? await this.applyItem(q.item, q.meta) : this.refuseInvalid(q.meta, q.error);
          if (r === 'gap' && q.gen === this.gen) {
            const c = this.store.cursor();
            this.log?.warn({ expected: c.seq + 1, got: q.meta.seq }, 'gap in seq; re-subscribing');
            this.emit('gap', { from: c.seq + 1, to: q.meta.seq - 1, via: 'seq' });
            this.subscribe('seq gap');
          }
        } else {
          const progressed = await this.catchUp(q.sub);
          if (!this.stopped && q.gen === this.gen) {
            // No way forward right now (history unavailable or not advancing): drop the socket and let
            // the reconnect backoff pace the next try, instead of a tight subscribe/REST loop.
            if (progressed) this.subscribe(`after ${q.sub.reason}`);
            else this.drop(`${q.sub.reason}: history over REST unavailable`);
          }
        }
      } catch (e) {
        if (e instanceof StreamFatalError) return this.fail(e.code, e.message, e);
        if (e instanceof StreamItemRejected) return this.rejectItem(e);
        // A failure to record is not something to trade through: stop.
        const message = `applying a signal failed: ${(e as Error).message}`;
        return this.fail('apply_failed', message, e);
      }
    }
  }

  /**
   * An invalid item in the place of the next seq is refused (never applied, never skipped: rejectItem asks the
   * next URL, and stops when every one serves it so); a duplicate or one ahead is answered as a valid one is.
   */
  private refuseInvalid(meta: ItemMeta, error: string): ApplyOutcome {
    const c = this.store.cursor();
    if (c.epoch !== undefined && meta.epoch !== c.epoch)
      throw new StreamFatalError(
        'epoch_changed',
        `signal from epoch ${meta.epoch}, cursor is in ${c.epoch}: trading stopped`,
      );
    if (meta.seq <= c.seq) return 'dup';
    if (meta.seq !== c.seq + 1) return 'gap';
    throw new StreamItemRejected(
      meta.seq,
      `invalid signal: ${error.replace(/\s+/g, ' ')}`,
      undefined,
      'invalid_signal',
    );
  }

  /** Apply one item if it is the next seq of our epoch; dup and gap are answers, not errors. */
  private async applyItem(item: T, meta: ItemMeta): Promise<ApplyOutcome> {
    const c = this.store.cursor();
    if (c.epoch !== undefined && meta.epoch !== c.epoch)
      throw new StreamFatalError(
        'epoch_changed',
        `signal from epoch ${meta.epoch}, cursor is in ${c.epoch}: trading stopped`,
      );
    if (meta.seq <= c.seq) return 'dup';
    if (meta.seq !== c.seq + 1) return 'gap';
    await this.o.apply(item, meta);
    this.strikes = 0;
    if (this.rejections && meta.seq >= this.rejections.seq) this.rejections = undefined;
    // A journal moves its cursor inside apply (same transaction as the decision); a plain cursor is moved here.
    if (this.store.cursor().seq < meta.seq) this.store.setCursor(meta.epoch, meta.seq);
    this.emit('applied', { item, ...meta });
    return 'applied';
  }

  /**
   * An item apply refused: never applied and never skipped (that would lose the genuine one for good). Drop
   * this URL and ask the next for the same seq; when every URL (or the only one) refused it, stop: the owner
   * decides (a key rotation means re-pinning), the client does not trade on a stream it cannot verify.
   */
  private rejectItem(e: StreamItemRejected): void {
    const url = e.url ?? this.url;
    if (this.rejections?.seq !== e.seq) this.rejections = { seq: e.seq, byUrl: new Map() };
    this.rejections.byUrl.set(url, e.why);
    this.log?.error(
      { seq: e.seq, url, why: e.why, cursor: this.store.cursor().seq },
      'SIGNAL REJECTED: not applied, not skipped; asking another server for it',
    );
    this.emit('rejected', { seq: e.seq, url, why: e.why });
    if (new Set(this.o.urls).size <= this.rejections.byUrl.size) {
      const from = [...this.rejections.byUrl].map(([u, why]) => `${u} (${why})`).join(', ');
      const stopped = `Trading stopped; nothing after seq ${e.seq - 1} is applied.`;
      return e.code === 'invalid_signal'
        ? this.fail(
            'invalid_signal',
            `signal seq ${e.seq} is not a valid signal from any server: ${from}. ${stopped}`,
          )
        : this.fail(
            'bad_signature',
            `signal seq ${e.seq} failed verification from every server: ${from}. ${stopped} If the ` +
              `server's signing key was rotated, pin the new one.`,
          );
    }
    // Whatever this socket queued after the refused item belongs to it: discard, then fail over.
    this.gen++;
    this.queue = [];
    // No socket: a reconnect is already pending and will ask the next URL.
    this.drop(`seq ${e.seq} rejected: ${e.why}`);
  }

  private async catchUp(sub: SubscribedFrame): Promise<boolean> {
    const ctx: CatchUpContext<T> = {
      url: this.url,
      stopped: () => this.stopped,
      cursor: () => this.store.cursor(),
      applyItem: (item, meta) => this.applyItem(item, meta),
      acceptGap: (epoch, from, to, reason) => this.acceptGap(epoch, from, to, reason),
    };
    if (this.o.onBehind) return this.o.onBehind(sub, ctx);
    // No history source: what the socket cannot replay is lost; say so and go on from what it can.
    const c = this.store.cursor();
    const maxReplay = this.lastHello?.limits.max_replay ?? 0;
    const to = Math.max(sub.first_seq - 1, sub.head_seq - maxReplay);
    if (to <= c.seq) return false;
    this.acceptGap(sub.epoch, c.seq + 1, to, `${sub.reason ?? 'unrecovered'}: no history source`);
    return true;
  }

  private acceptGap(epoch: string, from: number, to: number, reason: string): void {
    this.log?.error(
      { from_seq: from, to_seq: to, reason },
      'ACCEPTING A GAP: these signals will never be seen',
    );
    this.store.recordGap(epoch, from, to, reason, this.clock.now());
    this.emit('gap', { from, to, via: 'accepted' });
  }
}
