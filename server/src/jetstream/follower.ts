import {
  DeliverPolicy,
  jetstream,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger.js';

/** One message of the cluster log: the signal JSON exactly as signed, at its stream seq. */
export interface LogEntry {
  seq: number;
  json: string;
}

export interface FollowerOptions {
  nc: NatsConnection;
  stream: string;
  /** Where every (re)created consumer starts: last applied + 1. Read at each start, never cached. */
  nextSeq(): number;
  /**
   * Apply a batch (seq order, contiguous from nextSeq()) to the replica AND publish it to the fan-out, both
   * synchronously in this call. Throwing drops the batch; the follower re-reads from nextSeq() after a backoff.
   */
  apply(batch: LogEntry[]): void;
  /** The log itself is wrong here (stream seq != signal seq, a hole that does not go away): never resumes. */
  onDiverged(detail: string, seq: number): void;
  log: Logger;
  /** No message and no heartbeat for this long: the consumer is presumed lost and re-created (default 3000). */
  idleMs?: number;
  /** Every JetStream API request (consumer create, stream info) gives up after this (default 2000). */
  apiTimeoutMs?: number;
  /** Pull request expiry; the server heartbeats at half of it (default 2000, the client's minimum is 1000). */
  expiresMs?: number;
  /** Messages per pull and most messages applied in one transaction (default 1000). */
  maxBatch?: number;
  /** Backoff between re-creations, doubling (default 100..5000 ms). */
  backoffMs?: [number, number];
  /** Repeated refusals of the same seq before the follower calls it divergence (default 5). */
  maxOrderRetries?: number;
}

export interface FollowerStats {
  /** Consumers created (1 + re-creations). */
  sessions: number;
  /** Re-creations triggered by the watchdog (no message, no heartbeat). */
  watchdogFirings: number;
  /** Highest stream seq known to exist (from message metadata and stream info): for replica lag. */
  knownLastSeq: number;
  /** The last message or heartbeat, ms since epoch. */
  lastActivityMs: number;
  /** Idle heartbeats received from the server (what keeps the watchdog quiet while nothing is published). */
  heartbeats: number;
}

/** Thrown inside a session to end it; the loop re-creates the consumer unless it is a divergence. */
class SessionEnd extends Error {
  constructor(
    message: string,
    readonly diverged = false,
    readonly seq = 0,
  ) {
    super(message);
  }
}

/**
 * Reads the cluster log from last applied + 1, then live, in order, into `apply`.
 *
 * An ordered consumer is an R1 memory consumer on one stream peer; if that node dies, the client library
 * never recovers it (measured: ../shared/notes/jetstream.md §4, "known trap"). So this is the measured fix:
 * `consume({expires: 2000})` makes the server heartbeat every second while idle; a watchdog that sees neither
 * a message nor a heartbeat for `idleMs` stops the consumer and creates a new one from nextSeq(), with API
 * timeouts bounded and a doubling backoff. The replica refuses anything but head + 1, so a re-created consumer
 * can never produce a gap or a duplicate that would be stored.
 *
 * Batching: messages arrive through a synchronous callback and are queued; the queue is applied (one SQLite
 * transaction, then the fan-out, in one synchronous call) on the next macrotask or when it reaches maxBatch.
 */
export class Follower {
  readonly stats: FollowerStats = {
    sessions: 0,
    watchdogFirings: 0,
    knownLastSeq: 0,
    lastActivityMs: 0,
    heartbeats: 0,
  };
  private readonly js: JetStreamClient;
  private stopped = false;
  private endSession: ((e: SessionEnd) => void) | undefined;
  private wakeBackoff: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly o: Required<Omit<FollowerOptions, 'nc' | 'log'>> & Pick<FollowerOptions, 'nc' | 'log'>;

  constructor(opts: FollowerOptions) {
    this.o = {
      idleMs: 3000,
      apiTimeoutMs: 2000,
      expiresMs: 2000,
      maxBatch: 1000,
      backoffMs: [100, 5000],
      maxOrderRetries: 5,
      ...opts,
    };
    this.js = jetstream(opts.nc, { timeout: this.o.apiTimeoutMs });
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Stop reading; resolves once the current consumer is let go. Queued, unapplied messages are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.endSession?.(new SessionEnd('stopped'));
    this.wakeBackoff?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = this.o.backoffMs[0];
    let refusedAt = -1;
    let refusals = 0;
    while (!this.stopped) {
      const from = this.o.nextSeq();
      const end = await this.session(from).catch((err: unknown) =>
        err instanceof SessionEnd ? err : new SessionEnd((err as Error).message),
      );
      if (this.stopped) break;
      if (end.diverged) {
        this.o.onDiverged(end.message, end.seq);
        break;
      }
      const progressed = this.o.nextSeq() > from;
      if (progressed) {
        backoff = this.o.backoffMs[0];
        refusals = 0;
      } else if (end.seq && end.seq === refusedAt && ++refusals >= this.o.maxOrderRetries) {
        this.o.onDiverged(`${end.message} (${refusals} times after re-creating the consumer)`, end.seq);
        break;
      }
      if (end.seq) refusedAt = end.seq;
      this.o.log.warn(
        { from, next: this.o.nextSeq(), reason: end.message, backoff_ms: backoff },
        'log follower restarting',
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        this.wakeBackoff = () => {
          clearTimeout(t);
          resolve();
        };
      });
      backoff = Math.min(backoff * 2, this.o.backoffMs[1]);
    }
  }

  /** One consumer's life: resolves/rejects with why it ended. */
  private async session(from: number): Promise<SessionEnd> {
    this.stats.sessions++;
    // This session's own resolver: late callbacks of an old consumer (closed(), a create that finally
    // answered) must never end the session after it. Resolving twice is a no-op.
    let resolveEnd!: (e: SessionEnd) => void;
    const ended = new Promise<SessionEnd>((resolve) => (resolveEnd = resolve));
    this.endSession = resolveEnd;
    let messages: ConsumerMessages | undefined;
    let abandoned = false;
    let expected = from;
    let queue: LogEntry[] = [];
    let scheduled = false;
    this.stats.lastActivityMs = Date.now();
    const finish = (e: SessionEnd) => resolveEnd(e);

    const flush = () => {
      scheduled = false;
      if (abandoned || queue.length === 0) return;
      const batch = queue;
      queue = [];
      try {
        this.o.apply(batch);
      } catch (err) {
        abandoned = true;
        finish(new SessionEnd(`apply refused: ${(err as Error).message}`, false, batch[0]!.seq));
      }
    };
    const onMessage = (m: JsMsg) => {
      if (abandoned) return;
      this.stats.lastActivityMs = Date.now();
      const seq = m.info.streamSequence;
      this.stats.knownLastSeq = Math.max(this.stats.knownLastSeq, seq + Math.max(0, m.info.pending));
      if (seq !== expected) {
        // The ordered consumer delivers stream seqs in order; a hole means the stream lost or deleted one.
        abandoned = true;
        return finish(new SessionEnd(`log delivered seq ${seq}, expected ${expected}`, false, expected));
      }
      const json = m.string();
      const signalSeq = seqOf(json);
      if (signalSeq !== seq) {
        abandoned = true;
        return finish(
          new SessionEnd(`stream seq ${seq} holds a signal with seq ${String(signalSeq)}`, true, seq),
        );
      }
      expected++;
      queue.push({ seq, json });
      if (queue.length >= this.o.maxBatch) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    };

    const watchdog = setInterval(
      () => {
        if (Date.now() - this.stats.lastActivityMs <= this.o.idleMs) return;
        this.stats.watchdogFirings++;
        finish(new SessionEnd(`no message and no heartbeat for ${this.o.idleMs} ms`));
      },
      Math.max(100, Math.floor(this.o.idleMs / 4)),
    );
    watchdog.unref();

    const starting = (async () => {
      const consumer = await this.js.consumers.get(this.o.stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      const m = await consumer.consume({
        expires: this.o.expiresMs,
        max_messages: this.o.maxBatch,
        callback: onMessage,
      });
      if (abandoned) {
        void m.close().catch(() => undefined);
        return;
      }
      messages = m;
      void (async () => {
        for await (const s of m.status()) {
          if (s.type === 'heartbeat') {
            this.stats.heartbeats++;
            this.stats.lastActivityMs = Date.now();
            this.stats.knownLastSeq = Math.max(this.stats.knownLastSeq, s.lastStreamSequence);
          }
        }
      })().catch(() => undefined);
      void m.closed().then((err) => {
        if (err) finish(new SessionEnd(`consumer closed: ${(err as Error).message}`));
      });
    })();
    starting.catch((err: unknown) =>
      finish(new SessionEnd(`consumer create failed: ${(err as Error).message}`)),
    );

    const end = await ended;
    abandoned = true;
    this.endSession = undefined;
    clearInterval(watchdog);
    // Not awaited: with the hosting node dead, the consumer delete behind close() only times out.
    if (messages) void messages.close().catch(() => undefined);
    return end;
  }
}

/** The `seq` of a signal JSON without trusting its shape (the replica validates the rest). */
function seqOf(json: string): number | undefined {
  try {
    const v = (JSON.parse(json) as { seq?: unknown }).seq;
    return typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}
