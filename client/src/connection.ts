import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  StreamCore,
  StreamFatalError,
  StreamItemRejected,
  type CatchUpContext,
  type HelloFrame,
  type Signal,
  type StreamCoreOptions,
  type StreamCursor,
  type SubscribedFrame,
  type WebSocketConstructor,
} from '@catalyst-signal/shared';
import type { Config } from './config.js';
import { InvalidHistorySignal, failover, fetchHistory, startingAt, streamUrl } from './http.js';
import { HISTORY_PAGE_SIZE, OVERSIZE_FRAME, WS_MAX_PAYLOAD_BYTES, isOversizeFrame } from './limits.js';
import { netReason } from './net-error.js';
import type { Verifier } from './verify.js';

/**
 * The CLI's stream connection: a Node adapter over the shared StreamCore (which owns hello, subscribe, resume,
 * gaps, heartbeats, silence and backoff). What stays here is what only Node has: the `ws` socket with the
 * Bearer header and a handshake timeout, HTTP 401/403 on the upgrade as a fatal auth error, verification of
 * each signal (one that does not verify is refused, never applied nor skipped: the core asks the next URL,
 * and stops with 'bad_signature' when every URL served it bad), REST history paging when the socket cannot replay (recovered:false), pino logging, and the
 * journal as the cursor store (`apply` advances it, in the same transaction as the decision).
 * Events (Node EventEmitter, as before the core): hello(frame, skew, url), subscribed(frame), caught_up(seq),
 * heartbeat(frame), applied(seq), gap({from,to,via}), silence, reconnecting({why,delay,attempt,url,nextUrl}),
 * rejected({seq,url,why}), fatal(error).
 */

export type CursorStore = StreamCursor;

export type VerifyResult = Awaited<ReturnType<Verifier>>;

export interface ConnectionOptions {
  baseUrl: string;
  /** Several gateways of one cluster (baseUrl is then ignored): the stream and history fail over across them. */
  baseUrls?: readonly string[] | undefined;
  key: string;
  /** Server protocol versions accepted (default SUPPORTED_PROTOCOLS; with log verification also 3). */
  supportedProtocols?: readonly number[] | undefined;
  server: Config['server'];
  verify: Verifier;
  /**
   * After the signature: resolves true once the signal is proven in the server's transparency log
   * (log-verify.ts), false when the log is not checked (a server without one); rejects to keep it unapplied
   * (a failed proof halts; see run.ts).
   */
  prove?: ((signal: Signal) => Promise<boolean>) | undefined;
  /** Transparency-log checkpoint frames (see StreamCore's `checkpoints`); absent: none asked for. */
  checkpoints?: StreamCoreOptions<Signal>['checkpoints'];
  cursor: CursorStore;
  /** Decide and journal one VERIFIED signal; resolves once the decision (and intents) are durable. */
  apply(signal: Signal, verified: VerifyResult & { ok: true }, receivedAt: number): Promise<void>;
  log: Logger;
  random?: () => number;
  now?: () => number;
}

/** The stream's fatal error (epoch_changed, auth, protocol, future, clock_skew, bad_signature...), CLI name. */
export const FatalStreamError = StreamFatalError;
export type FatalStreamError = StreamFatalError;

export { backoffDelay } from '@catalyst-signal/shared';

/**
 * `ws` with the Bearer header, a handshake timeout, a bound on what one message can make us buffer, and the
 * reason kept for the core (the upgrade's HTTP status; a message over the bound). A message over
 * WS_MAX_PAYLOAD_BYTES is never read nor applied: `ws` closes the socket (1009) and the core reconnects as
 * after any lost socket (next URL with several, backoff), resuming from the cursor.
 */
function nodeSocket(
  key: string,
  onRefused: (status: number) => void,
  onOversize: (url: string) => void,
): WebSocketConstructor {
  return class NodeStreamSocket extends WebSocket {
    refusal: string | undefined;
    constructor(url: string) {
      super(url, {
        headers: { authorization: `Bearer ${key}` },
        handshakeTimeout: 10_000,
        maxPayload: WS_MAX_PAYLOAD_BYTES,
      });
      // Registered before the core's onerror, so the reason is in place when the core asks for it.
      this.on('error', (e) => {
        if (!isOversizeFrame(e)) return;
        this.refusal = OVERSIZE_FRAME;
        onOversize(url);
      });
      this.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) onRefused(status);
        else {
          this.refusal = `HTTP ${status} on upgrade`;
          this.terminate();
        }
      });
    }
  };
}

export class Connection extends EventEmitter {
  readonly core: StreamCore<Signal>;
  private readonly baseUrls: readonly string[];
  private readonly streamUrls: readonly string[];
  /** Aborts REST reads in flight (history paging) when the connection stops: a slow body must not hold SIGTERM. */
  private readonly aborts = new AbortController();

  constructor(private readonly o: ConnectionOptions) {
    super();
    const now = o.now ?? Date.now;
    this.baseUrls = o.baseUrls?.length ? o.baseUrls : [o.baseUrl];
    this.streamUrls = this.baseUrls.map(streamUrl);
    const core: StreamCore<Signal> = new StreamCore<Signal>({
      urls: this.streamUrls,
      WebSocket: nodeSocket(
        o.key,
        (status) => core.fail('auth', `server refused the key (HTTP ${status})`),
        (url) => {
          o.log.error(
            { url, max_bytes: WS_MAX_PAYLOAD_BYTES },
            `${url}: ${OVERSIZE_FRAME}; dropping that connection, nothing from it applied`,
          );
          // Before the close reaches the core: the reconnect after it must not start the backoff over.
          core.penalise();
        },
      ),
      protocols: [], // authenticated by the Authorization header
      supportedProtocols: o.supportedProtocols,
      policy: o.server,
      cursor: o.cursor,
      clock: {
        now,
        setTimeout: (fn, ms) => setTimeout(fn, ms),
        clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      },
      random: o.random ?? Math.random,
      apply: async (signal, meta) => {
        const verified = await o.verify(signal);
        // The operator may turn per-signal signatures off once clients prove every signal in the log
        // (hello.log.signal_sigs false): an unsigned signal then stands on its inclusion proof alone.
        const unsignedByPolicy =
          !verified.ok && signal.sig === undefined && core.lastHello?.log?.signal_sigs === false;
        // Not applied and not skipped: journaling it would move the cursor past the genuine signal for good.
        if (!verified.ok && !unsignedByPolicy)
          throw new StreamItemRejected(meta.seq, `bad signature: ${verified.why}`);
        const proven = (await o.prove?.(signal)) === true;
        if (unsignedByPolicy && !proven)
          throw new StreamItemRejected(
            meta.seq,
            'unsigned (the server turned per-signal signatures off) and not proven in its transparency log (log.verify is off)',
          );
        await o.apply(signal, { ok: true }, meta.receivedAt);
      },
      onBehind: (sub, ctx) => this.catchUp(sub, ctx),
      checkpoints: o.checkpoints,
      describeError: (ev, socket) =>
        (socket as { refusal?: string }).refusal ?? netReason((ev as { error?: unknown }).error ?? ev),
      log: o.log,
    });
    this.core = core;
    core.on('connected', (e) => this.emit('hello', e.hello, e.skewMs, e.url));
    core.on('subscribed', (e) => this.emit('subscribed', e.frame));
    core.on('caught_up', (e) => this.emit('caught_up', e.seq));
    core.on('heartbeat', (e) => this.emit('heartbeat', e.frame));
    core.on('applied', (e) => this.emit('applied', e.seq));
    core.on('gap', (e) => this.emit('gap', e));
    core.on('silence', () => this.emit('silence'));
    core.on('reconnecting', (e) =>
      this.emit('reconnecting', {
        why: e.reason,
        delay: e.delayMs,
        attempt: e.attempt,
        url: e.url,
        nextUrl: e.nextUrl,
      }),
    );
    core.on('rejected', (e) => this.emit('rejected', e));
    core.on('fatal', (e) => this.emit('fatal', e.error));
  }

  get epoch(): string | undefined {
    return this.core.epoch;
  }
  get lastHello(): HelloFrame | undefined {
    return this.core.lastHello;
  }

  start(): void {
    this.core.start();
  }

  /** Stop: no new frames are taken; the signal being applied finishes (its cursor is then on disk). */
  stop(): Promise<void> {
    // The core is marked stopped first, so the aborted read is taken as stopping, never as a history failure.
    const stopped = this.core.stop();
    this.aborts.abort();
    return stopped;
  }

  /**
   * recovered:false (trimmed / too_far_behind): page REST history from the cursor, else accept the gap.
   * Resolves false when neither worked, so the core backs off instead of asking again at once.
   */
  private async catchUp(sub: SubscribedFrame, ctx: CatchUpContext<Signal>): Promise<boolean> {
    // The gateway we are streamed from first; in a cluster any other serves the same history.
    const current = this.baseUrls[this.streamUrls.indexOf(ctx.url)] ?? this.baseUrls[0]!;
    const bases = startingAt(this.baseUrls, current);
    const history = (afterSeq: number) =>
      failover(bases, async (baseUrl, failFast) => {
        try {
          const page = await fetchHistory(
            { baseUrl, key: this.o.key, failFast, signal: this.aborts.signal },
            afterSeq,
            HISTORY_PAGE_SIZE,
          );
          return { from: baseUrl, page, invalid: undefined };
        } catch (e) {
          // The valid signals before it are applied; the invalid one is then refused by seq, never skipped.
          if (!(e instanceof InvalidHistorySignal)) throw e;
          return { from: baseUrl, page: e.page, invalid: { seq: e.seq, why: e.why } };
        }
      });
    const now = this.o.now ?? Date.now;
    try {
      for (;;) {
        if (ctx.stopped()) return true;
        const c = ctx.cursor();
        const { from, page, invalid } = await history(c.seq);
        if (page.epoch !== sub.epoch)
          throw new StreamFatalError('epoch_changed', `history epoch ${page.epoch} != ${sub.epoch}`);
        for (const s of page.signals) {
          if (ctx.stopped()) return true;
          const cur = ctx.cursor();
          if (s.seq > cur.seq + 1)
            ctx.acceptGap(sub.epoch, cur.seq + 1, s.seq - 1, `${sub.reason}: missing from history`);
          // A refused signal is blamed on the gateway whose page carried it; the core asks the next one.
          await ctx.applyItem(s, { seq: s.seq, epoch: s.epoch, receivedAt: now() }).catch((e: unknown) => {
            if (e instanceof StreamItemRejected)
              throw new StreamItemRejected(e.seq, e.why, streamUrl(from), e.code);
            throw e;
          });
        }
        if (invalid && !ctx.stopped()) {
          const cur = ctx.cursor();
          if (invalid.seq > cur.seq + 1)
            ctx.acceptGap(sub.epoch, cur.seq + 1, invalid.seq - 1, `${sub.reason}: missing from history`);
          if (invalid.seq > cur.seq)
            throw new StreamItemRejected(
              invalid.seq,
              `invalid signal: ${invalid.why}`,
              streamUrl(from),
              'invalid_signal',
            );
        }
        if (page.signals.length === 0 || page.next_after_seq >= page.head_seq) return true;
        // A page that did not move the cursor would be asked for again forever (a broken or hostile server).
        if (ctx.cursor().seq <= c.seq) throw new Error(`history did not advance past seq ${c.seq}`);
      }
    } catch (e) {
      // Stopping aborted the read: nothing failed, and no gap may be accepted for it.
      if (ctx.stopped()) return true;
      // Never accept a gap over a refused signal: that would skip it for good.
      if (e instanceof StreamFatalError || e instanceof StreamItemRejected) throw e;
      const c = ctx.cursor();
      this.o.log.error({ err: (e as Error).message }, 'cannot page history over REST');
      if (sub.first_seq - 1 <= c.seq) return false;
      ctx.acceptGap(sub.epoch, c.seq + 1, sub.first_seq - 1, `${sub.reason}: history unavailable`);
      return true;
    }
  }
}
