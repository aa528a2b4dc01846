import type { Logger } from 'pino';
import type { NotifyMessage } from './events.js';
import type { Sender } from './sender.js';

/**
 * Delivery to one destination, off the trading path: `push` only appends to a bounded in-memory queue (the oldest
 * waiting message is dropped, and counted, when it is full) and returns. One loop per destination sends one
 * message at a time, at most one per the service's interval, retries a failure with exponential backoff (or the
 * service's retry_after) and gives up after maxAttempts or at once on a definitive refusal. Nothing it does
 * throws into the caller; every error it keeps or logs has passed through `redact`.
 */

export interface DeliveryState {
  target: string;
  service: string;
  sent: number;
  failed: number;
  dropped: number;
  queued: number;
  last_ok_at?: string | undefined;
  last_error?: string | undefined;
  last_error_at?: string | undefined;
}

export interface DeliveryOptions {
  max: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  redact: (s: string) => string;
  log: Logger;
  onChange: () => void;
}

interface Item {
  msg: NotifyMessage;
  attempts: number;
  /** Backoff: not retried before this time (ms). */
  notBefore: number;
}

/**
 * The next message: the oldest trading_stopped if any (the halt waits for it alone, a few seconds, before the
 * process exits, so it never waits behind older messages or their backoff), else the oldest.
 */
function pick(items: readonly Item[]): Item {
  return items.find((i) => i.msg.priority >= 5) ?? items[0]!;
}

export class DeliveryQueue {
  private readonly items: Item[] = [];
  private inFlight: Item | undefined;
  /** The service's rate limit: no send before this time (ms). */
  private nextAt = 0;
  private running = false;
  private closed = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly st: DeliveryState;
  /** The outcome of each message, by reference, for `notify test`. */
  readonly results = new WeakMap<
    NotifyMessage,
    { ok: boolean; error?: string | undefined; attempts: number }
  >();

  constructor(
    readonly sender: Sender,
    private readonly o: DeliveryOptions,
  ) {
    this.st = { target: sender.label, service: sender.service, sent: 0, failed: 0, dropped: 0, queued: 0 };
  }

  push(msg: NotifyMessage): void {
    if (this.closed) return;
    if (this.items.length >= this.o.max) {
      const victim = this.items.findIndex((i) => i !== this.inFlight && i.msg.priority < 5);
      if (victim >= 0) {
        this.items.splice(victim, 1);
        this.st.dropped++;
      }
    }
    this.items.push({ msg, attempts: 0, notBefore: 0 });
    this.st.queued = this.items.length;
    // A halt message may be sent before the backoff the pump is sleeping on: let it pick again.
    if (msg.priority >= 5) this.wake?.();
    void this.pump();
  }

  state(): DeliveryState {
    return { ...this.st, queued: this.items.length };
  }

  /** Resolves once nothing is waiting (or the queue was closed). */
  idle(): Promise<void> {
    if (!this.items.length || this.closed) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop sending: an in-flight request is aborted, waiting messages stay unsent. Safe to call twice. */
  close(): void {
    this.closed = true;
    this.abort.abort();
    this.wake?.();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => ((this.wake = undefined), r()), ms);
      // A backoff never keeps the process alive on its own: `run` lives for its connection, not for this.
      t.unref();
      this.wake = () => (clearTimeout(t), (this.wake = undefined), r());
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.items.length && !this.closed) {
        const next = pick(this.items);
        const wait = Math.max(this.nextAt, next.notBefore) - Date.now();
        if (wait > 0) {
          await this.sleep(wait);
          continue; // pick again: a halt message may have arrived meanwhile
        }
        const item = (this.inFlight = next);
        item.attempts++;
        const r = await this.sender.send(item.msg, this.abort.signal).catch((e: Error) => ({
          ok: false as const,
          retry: true,
          retryAfterMs: undefined,
          error: e.message,
        }));
        this.inFlight = undefined;
        if (this.closed) break;
        const now = Date.now();
        const done = () => {
          const i = this.items.indexOf(item);
          if (i >= 0) this.items.splice(i, 1);
        };
        if (r.ok) {
          done();
          this.st.sent++;
          this.st.last_ok_at = new Date(now).toISOString();
          this.results.set(item.msg, { ok: true, attempts: item.attempts });
          this.nextAt = now + this.sender.minIntervalMs;
        } else {
          const error = this.o.redact(r.error);
          this.st.last_error = error;
          this.st.last_error_at = new Date(now).toISOString();
          const ctx = { target: this.sender.label, kind: item.msg.kind, attempt: item.attempts, err: error };
          if (!r.retry || item.attempts >= this.o.maxAttempts) {
            done();
            this.st.failed++;
            this.results.set(item.msg, { ok: false, error, attempts: item.attempts });
            this.o.log.warn(ctx, 'notification not delivered');
            this.nextAt = now + this.sender.minIntervalMs;
          } else {
            const backoff = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (item.attempts - 1));
            const delay = Math.max(r.retryAfterMs ?? 0, backoff, this.sender.minIntervalMs);
            this.o.log.info({ ...ctx, retry_in_ms: delay }, 'notification failed; retrying');
            item.notBefore = now + delay;
            // A retry_after is the service's limit for this destination, for every message; a backoff is this one's.
            this.nextAt = now + Math.max(this.sender.minIntervalMs, r.retryAfterMs ?? 0);
          }
        }
        this.st.queued = this.items.length;
        this.o.onChange();
      }
    } finally {
      this.running = false;
      if (!this.items.length || this.closed) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
