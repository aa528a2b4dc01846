import type { TemplatedApp } from 'uWebSockets.js';
import {
  answerSubscribe,
  parseErrorCode,
  ClientFrame,
  CloseCode,
  ErrorCode,
  PATHS,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_UNSIGNED_SIGNALS,
  parseClientFrame,
  type SubscribeFrame,
} from '@catalyst-signal/shared';
import { admit, Refused, type AdmissionDeps } from '../auth/admission.js';
import { hasScope, type Authenticator, type Principal } from '../auth/authenticator.js';
import type { Config } from '../config.js';
import type { Limits } from '../limits.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FanOut, SignalLogReader, StoredSignal } from '../log/types.js';
import { compileFilter, FilterGroups } from './filters.js';
import { AheadWaits } from './ahead.js';
import type { CheckpointFeed } from './checkpoint-feed.js';
import { writeFrame } from './frames.js';
import { replayStep } from './replay.js';
import type { StatusHub } from '../status/hub.js';
import { STATUS_TOPIC, statusSink } from './status-sink.js';
import { newSocketData, type SocketData, type Subscription, type Ws } from './socket-state.js';
import { upgrade } from './upgrade.js';
import { receiveCosign } from './cosign.js';
import type { WitnessBook } from '../log/witnesses.js';

const ALL = 'sig';
const HEARTBEAT = 'hb';
/** Replay pauses while the socket buffers more than this, and continues on drain. */
const REPLAY_HIGH_WATER = 256 * 1024;
/** Replay pages sent per socket before yielding the event loop to others (fairness with ingest). */
const PAGES_PER_TURN = 4;
/** Bad frames tolerated before closing with protocolError. */
const MAX_BAD_FRAMES = 5;

export interface StreamDeps {
  /** Why new sockets are refused (503 with this detail) although the server listens; undefined to serve. */
  unavailable?: () => string | undefined;
  /**
   * A log that trails the cluster (a gateway's replica): a subscribe from a seq beyond the head waits up to
   * this long for the head to reach it, instead of being answered `future` at once. 0 / absent: no wait.
   */
  aheadWaitMs?: number;
  /** With aheadWaitMs: the whole log's newest seq, asked fresh (SignalLogDriver.logHead). */
  logHead?: (() => Promise<number>) | undefined;
  config: Config;
  reader: SignalLogReader;
  auth: Authenticator;
  limits: Limits;
  metrics: Metrics;
  log: Logger;
  serverId: string;
  /** The operator's live status (admin sockets that send `status`); absent: the frame is refused. */
  status?: StatusHub | undefined;
  /** The transparency log's checkpoint frames; absent: hello has no `log` and `checkpoints` is ignored. */
  checkpoints?: CheckpointFeed | undefined;
  /** Witness cosignatures (`cosign` frames); absent: every one is counted and dropped. */
  witnesses?: WitnessBook | undefined;
}

/**
 * The WebSocket edge: authentication at upgrade (header or subprotocol) or by first frame, subscribe with
 * replay-then-live, heartbeats, limits, and the fan-out of committed signals.
 *
 * Replay -> live without gap or duplicate: a replaying socket is NOT subscribed to the live topic. It reads
 * pages from the log reader after its cursor; when a page comes back short, it has reached the head, and in
 * that same synchronous step it subscribes to the live topic. The log driver publishes only in the step
 * that makes signals readable (SignalLogDriver.attach), which cannot interleave with this step (one
 * thread), so every seq is either in the pages read or in a later publish, never both and never neither.
 * See docs/architecture.md ("What each driver guarantees").
 */
export class Stream implements FanOut {
  private readonly sockets = new Set<Ws>();
  private readonly byPrincipal = new Map<string, Set<Ws>>();
  private readonly groups = new FilterGroups();
  private nextId = 1;
  private timers: NodeJS.Timeout[] = [];
  private closing = false;
  private readonly admission: AdmissionDeps;
  /** Subscribes waiting for the head to reach their from_seq (aheadWaitMs). */
  private readonly ahead: AheadWaits;

  constructor(
    private readonly app: TemplatedApp,
    private readonly d: StreamDeps,
  ) {
    const c = d.config;
    this.admission = { auth: d.auth, authFailures: d.limits.authFailures, metrics: d.metrics };
    this.ahead = new AheadWaits({
      waitMs: d.aheadWaitMs ?? 0,
      logHead: d.logHead,
      subscribe: (ws, f, mayWait) => this.subscribe(ws, f, mayWait),
      expired: (ws) => {
        this.error(
          ws,
          ErrorCode.unavailable,
          'this server is behind your cursor; reconnect (to another server)',
        );
        this.end(ws, CloseCode.goingAway, 'behind_cursor');
      },
    });
    app.ws<SocketData>(PATHS.stream, {
      // Our own checks (frame size in message(), buffer in checkSlowConsumers()) close with a proper code;
      // uWS's limits sit above them as a hard stop that closes without one.
      maxPayloadLength: Math.max(64 * 1024, c.ws_max_frame_bytes * 4),
      // 4x: at realistic rates the 250 ms check always gets there first and the client sees 4009.
      maxBackpressure: c.ws_max_backpressure_bytes * 4,
      // uWS would otherwise silently DROP frames over maxBackpressure; closing makes the client resume.
      closeOnBackpressureLimit: 1,
      idleTimeout: c.ws_idle_timeout_s,
      sendPingsAutomatically: true,
      upgrade: (res, req, ctx) =>
        void upgrade(
          {
            limits: d.limits,
            admission: this.admission,
            metrics: d.metrics,
            closing: () => this.closing,
            unavailable: () => d.unavailable?.(),
            atKeyLimit: (id) => this.atKeyLimit(id),
            socketData: (ip, principal) => this.socketData(ip, principal),
          },
          res,
          req,
          ctx,
        ),
      open: (ws) => this.open(ws),
      message: (ws, msg, isBinary) => this.message(ws, msg, isBinary),
      drain: (ws) => this.drain(ws),
      close: (ws, code) => this.closed(ws, code),
    });
    this.timers.push(setInterval(() => this.heartbeat(), c.heartbeat_ms));
    this.timers.push(setInterval(() => this.sweepPrincipals(), 250));
    this.timers.push(setInterval(() => this.checkSlowConsumers(), 250));
    if (d.aheadWaitMs) this.timers.push(setInterval(() => this.ahead.expire(), 250));
    for (const t of this.timers) t.unref();
    d.status?.attach(statusSink(app, this.sockets));
  }

  get connected(): number {
    return this.sockets.size;
  }

  /** Fan out one committed group. Called synchronously right after the commit, in seq order. */
  publish(fresh: readonly StoredSignal[]): void {
    const hasGroups = this.groups.size > 0;
    const all = this.app.numSubscribers(ALL);
    for (const s of fresh) {
      const frame = writeFrame.signal(s.json); // serialised once, for every subscriber
      this.app.publish(ALL, frame);
      if (hasGroups) for (const topic of this.groups.matching(s.signal)) this.app.publish(topic, frame);
    }
    this.d.status?.recent.addAll(fresh);
    this.d.metrics.signalsPublished.inc(fresh.length);
    this.d.metrics.framesSent.inc(fresh.length * all);
    if (this.ahead.size) this.ahead.resume(this.d.reader.head);
  }

  /** Stop: close every socket with 1001 so clients reconnect elsewhere or later and resume. */
  shutdown(): void {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    for (const ws of [...this.sockets]) this.end(ws, CloseCode.goingAway, 'shutdown');
  }

  // ---- upgrade and auth ----

  private socketData(ip: string, principal: Principal | undefined): SocketData {
    return newSocketData(this.nextId++, ip, principal, Date.now());
  }

  private open(ws: Ws): void {
    const data = ws.getUserData();
    this.sockets.add(ws);
    this.d.status?.poke();
    if (data.principal) this.admit(ws, data.principal);
    else
      data.authTimer = setTimeout(
        () => this.end(ws, CloseCode.unauthenticated, 'auth_deadline'),
        this.d.config.auth_deadline_ms,
      );
    this.sendHello(ws);
  }

  private admit(ws: Ws, principal: Principal): void {
    const data = ws.getUserData();
    data.principal = principal;
    let set = this.byPrincipal.get(principal.id);
    if (!set) this.byPrincipal.set(principal.id, (set = new Set()));
    set.add(ws);
    ws.subscribe(HEARTBEAT);
    this.d.status?.poke();
  }

  /**
   * `status`: admin sockets join the status topic (the hub pushes about once a second and on connects and
   * disconnects, the first frame at once). Any other principal gets error `forbidden` and stays connected,
   * its stream untouched: asking is not a protocol violation.
   */
  private watchStatus(ws: Ws): void {
    const data = ws.getUserData();
    if (!this.d.status || !data.principal || !hasScope(data.principal, 'admin'))
      return this.error(ws, ErrorCode.forbidden, 'status needs a key with admin scope');
    if (!data.watchingStatus) {
      data.watchingStatus = true;
      ws.subscribe(STATUS_TOPIC);
    }
    this.d.status.poke();
  }

  /** Per-key concurrent socket cap; `limits_disabled` (benchmarks) lifts it with the other limits. */
  private atKeyLimit(principalId: string): boolean {
    if (this.d.config.limits_disabled) return false;
    return (this.byPrincipal.get(principalId)?.size ?? 0) >= this.d.config.ws_max_per_key;
  }

  private sendHello(ws: Ws): void {
    const c = this.d.config;
    const authenticated = ws.getUserData().principal !== undefined;
    const log = this.d.checkpoints?.helloLog();
    this.send(
      ws,
      writeFrame.hello({
        protocol: c.log.signal_signatures ? PROTOCOL_VERSION : PROTOCOL_VERSION_UNSIGNED_SIGNALS,
        server_id: this.d.serverId,
        epoch: this.d.reader.epoch,
        head_seq: this.d.reader.head,
        heartbeat_ms: c.heartbeat_ms,
        authenticated,
        ...(authenticated ? {} : { auth_deadline_ms: c.auth_deadline_ms }),
        limits: {
          max_frame_bytes: c.ws_max_frame_bytes,
          frames_per_second: c.ws_frames_per_s,
          max_replay: c.max_replay,
          max_backpressure_bytes: c.ws_max_backpressure_bytes,
        },
        time: Date.now(),
        ...(log ? { log } : {}),
      }),
    );
  }

  // ---- inbound frames ----

  private message(ws: Ws, msg: ArrayBuffer, isBinary: boolean): void {
    const data = ws.getUserData();
    if (msg.byteLength > this.d.config.ws_max_frame_bytes) return this.end(ws, CloseCode.tooBig, 'too_big');
    // The ArrayBuffer is only valid during this callback: decode before any await.
    const text = isBinary ? undefined : Buffer.from(msg).toString('utf8');
    void this.d.limits.wsFrames.consume(String(data.id)).then((limit) => {
      if (data.closed) return;
      if (!limit.ok) {
        this.d.metrics.rateLimited.inc({ kind: 'ws_frames' });
        if (++data.limitedInRow > this.d.config.ws_frames_per_s)
          return this.end(ws, CloseCode.rateLimited, 'frames');
        return this.error(ws, ErrorCode.rateLimited, 'too many frames', limit.retryAfterMs);
      }
      data.limitedInRow = 0;
      if (text === undefined)
        return this.bad(ws, ErrorCode.binaryFrame, 'binary frames are not part of the protocol');
      const parsed = parseClientFrame(text);
      if (!parsed.ok) return this.bad(ws, parseErrorCode(parsed.error), parsed.error);
      const frame = parsed.value;
      if (frame.type === ClientFrame.auth) return void this.inBandAuth(ws, frame.token);
      if (!data.principal) return this.end(ws, CloseCode.unauthenticated, 'auth_first');
      if (frame.type === ClientFrame.subscribe) return this.subscribe(ws, frame);
      if (frame.type === ClientFrame.status) return this.watchStatus(ws);
      if (frame.type === ClientFrame.cosign) return receiveCosign(data, frame, this.d);
      this.send(ws, writeFrame.pong(frame.id, Date.now()));
    });
  }

  private async inBandAuth(ws: Ws, token: string): Promise<void> {
    const data = ws.getUserData();
    if (data.principal) return this.error(ws, ErrorCode.alreadyAuthenticated, 'already authenticated');
    const a = await admit(this.admission, {
      token,
      ip: data.ip,
      scope: 'read',
      transport: 'ws',
      atKeyLimit: (id) => this.atKeyLimit(id),
    });
    if (data.closed) return;
    if (!a.ok) {
      if (a.why === Refused.blocked) return this.end(ws, CloseCode.rateLimited, 'auth_failures');
      if (a.why === Refused.perKey) return this.end(ws, CloseCode.tooManyConnections, 'per_key');
      return this.end(
        ws,
        CloseCode.unauthenticated,
        a.why === Refused.scope ? 'read_scope_required' : 'invalid_credentials',
      );
    }
    clearTimeout(data.authTimer);
    data.authTimer = undefined;
    this.admit(ws, a.principal);
    this.sendHello(ws);
  }

  private bad(ws: Ws, code: ErrorCode, message: string): void {
    const data = ws.getUserData();
    if (++data.badFrames > MAX_BAD_FRAMES) return this.end(ws, CloseCode.protocolError, code);
    this.error(ws, code, message.slice(0, 500));
  }

  // ---- subscribe, replay, live ----

  private subscribe(ws: Ws, f: SubscribeFrame, mayWait = true): void {
    const data = ws.getUserData();
    this.leave(ws);
    const reader = this.d.reader;
    const head = reader.head;
    if (mayWait && this.ahead.wait(ws, f, head, reader.epoch)) return;
    const first = reader.firstSeq();
    const filter = f.filters && compileFilter(f.filters);
    // THE subscribe rule (shared with the client's dashboard feed): where the stream starts or why it cannot.
    const { frame, from } = answerSubscribe(
      f,
      { epoch: reader.epoch, head, first, maxReplay: this.d.config.max_replay },
      filter !== undefined,
    );
    this.send(ws, writeFrame.subscribed(frame));
    if (!frame.recovered) return;
    const sub: Subscription = {
      gen: ++data.gen,
      cursor: from,
      filter,
      live: false,
      topic: undefined,
      pumping: false,
      replayFrom: from,
      checkpoints: f.checkpoints && this.d.checkpoints ? { fromSize: f.checkpoints.from_size } : undefined,
    };
    data.sub = sub;
    if (head > from) this.d.metrics.replays.inc();
    this.pump(ws, sub);
  }

  /**
   * Send replay pages until caught up (then go live in the same step), until the socket buffer passes the
   * high-water mark (drain() continues from the last frame sent), or until it has had its share of this
   * event-loop turn (setImmediate continues, so many replaying sockets and ingest all make progress).
   */
  private pump(ws: Ws, sub: Subscription): void {
    const data = ws.getUserData();
    if (data.closed || data.sub !== sub || sub.live) return;
    const highWater = Math.min(REPLAY_HIGH_WATER, this.d.config.ws_max_backpressure_bytes / 2);
    for (let pages = 0; pages < PAGES_PER_TURN; pages++) {
      const step = replayStep(this.d.reader, sub.cursor, this.d.config.replay_page, sub.filter);
      let sent = 0;
      let blocked = false;
      ws.cork(() => {
        for (const f of step.frames) {
          ws.send(f.frame);
          sent++;
          if (ws.getBufferedAmount() > highWater) {
            sub.cursor = f.seq;
            blocked = true;
            return;
          }
        }
      });
      if (sent) this.d.metrics.replayedSignals.inc(sent);
      if (blocked) return; // drain() continues from sub.cursor
      sub.cursor = step.cursor;
      if (step.gap) {
        data.sub = undefined;
        this.error(ws, ErrorCode.unavailable, 'history was pruned during replay; subscribe again');
        return;
      }
      if (step.atHead) return this.goLive(ws, sub);
    }
    setImmediate(() => this.pump(ws, sub));
  }

  private goLive(ws: Ws, sub: Subscription): void {
    sub.live = true;
    sub.topic = sub.filter ? this.groups.add(sub.filter) : ALL;
    ws.subscribe(sub.topic);
    this.send(ws, writeFrame.caughtUp(sub.cursor));
    // Same step as joining the live topic: no checkpoint can be signed in between, so none is missed.
    if (sub.checkpoints)
      this.d.checkpoints?.goLive(ws, sub.checkpoints.fromSize, { from: sub.replayFrom, to: sub.cursor });
  }

  private leave(ws: Ws): void {
    this.ahead.delete(ws);
    const data = ws.getUserData();
    const sub = data.sub;
    if (!sub) return;
    if (sub.topic) {
      if (!data.closed) ws.unsubscribe(sub.topic);
      if (sub.filter) this.groups.remove(sub.filter);
      if (sub.checkpoints && !data.closed) this.d.checkpoints?.leave(ws);
    }
    data.sub = undefined;
  }

  private drain(ws: Ws): void {
    const sub = ws.getUserData().sub;
    if (sub && !sub.live) this.pump(ws, sub);
  }

  // ---- timers ----

  private heartbeat(): void {
    this.app.publish(HEARTBEAT, writeFrame.heartbeat(this.d.reader.head, Date.now()));
  }

  /** Revoked keys and expired tokens lose their sockets within this interval. */
  private sweepPrincipals(): void {
    this.d.auth.refresh();
    for (const set of this.byPrincipal.values()) {
      const first = set.values().next().value;
      const p = first?.getUserData().principal;
      if (!p || this.d.auth.stillValid(p)) continue;
      const expired = p.expiresAt !== undefined && p.expiresAt <= Date.now();
      for (const ws of [...set])
        this.end(ws, expired ? CloseCode.tokenExpired : CloseCode.revoked, expired ? 'expired' : 'revoked');
    }
  }

  /**
   * Close sockets whose send buffer passed the limit with 4009 (before uWS's hard limit at four times that),
   * and recycle connections past their max lifetime. Runs every 250 ms: O(sockets) native calls.
   */
  checkSlowConsumers(): void {
    const soft = this.d.config.ws_max_backpressure_bytes;
    const maxAge = this.d.config.ws_max_lifetime_min * 60_000;
    const now = Date.now();
    for (const ws of this.sockets) {
      const data = ws.getUserData();
      if (data.sub?.live && ws.getBufferedAmount() > soft)
        this.end(ws, CloseCode.slowConsumer, 'slow_consumer');
      else if (maxAge > 0 && now - data.openedAt > maxAge)
        this.end(ws, CloseCode.maxLifetime, 'max_lifetime');
    }
  }

  // ---- helpers ----

  private send(ws: Ws, frame: string): void {
    if (!ws.getUserData().closed) ws.send(frame);
  }

  private error(ws: Ws, code: ErrorCode, message: string, retryAfterMs?: number): void {
    this.send(ws, writeFrame.error(code, message, retryAfterMs));
  }

  private end(ws: Ws, close: { code: number; reason: string }, metric: string): void {
    const data = ws.getUserData();
    if (data.closed) return;
    data.endedByServer = true;
    this.d.metrics.wsCloses.inc({ reason: metric });
    ws.end(close.code, close.reason);
  }

  private closed(ws: Ws, code: number): void {
    const data = ws.getUserData();
    if (data.closed) return;
    data.closed = true; // before leave(): uWS drops a closing socket's topics itself
    this.leave(ws);
    clearTimeout(data.authTimer);
    this.sockets.delete(ws);
    if (data.principal) {
      const set = this.byPrincipal.get(data.principal.id);
      set?.delete(ws);
      if (set?.size === 0) this.byPrincipal.delete(data.principal.id);
    }
    // 1006 without our own end(): the peer vanished, or uWS hit the hard backpressure limit.
    if (code === 1006 && !data.endedByServer) this.d.metrics.wsCloses.inc({ reason: 'abnormal' });
    this.d.status?.poke();
  }
}
