import type { Logger } from 'pino';
import type { NotifyTarget } from './config.js';
import type { NotifyEventKind, NotifyMessage } from './events.js';
import { DeliveryQueue, type DeliveryState } from './delivery.js';
import { discordSender } from './discord.js';
import { jsonSender } from './json.js';
import { ntfySender, type ApprovalActions } from './ntfy.js';
import type { Sender } from './sender.js';
import { telegramSenders } from './telegram.js';
import { parseTargetUrl, redact } from './url.js';

export { NOTIFY_EVENTS, type NotifyEventKind, type NotifyMessage } from './events.js';
export type { DeliveryState } from './delivery.js';

/**
 * Notifications: the configured targets, each with its filter (events, min_priority) and one delivery queue per
 * destination. `emit` is what the rest of the client calls: synchronous, never throws, never waits.
 */

export { NOTIFY_STATE_META } from './status.js';

export interface NotifierOptions {
  env: Record<string, string | undefined>;
  log: Logger;
  queueMax?: number | undefined;
  maxAttempts?: number | undefined;
  baseDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  /** Receives the delivery state (coalesced, at most once a second, and at close) for `status`. */
  persist?: ((states: DeliveryState[]) => void) | undefined;
  /** Approval mode with approval.ntfy_url: the approve/reject buttons of an approval_requested message. */
  approvalActions?: ApprovalActions | undefined;
}

interface Route {
  index: number;
  wants: (m: NotifyMessage) => boolean;
  queues: DeliveryQueue[];
}

export class Notifier {
  private readonly routes: Route[] = [];
  /** Targets whose URL could not be used (an unset ${VAR}, a bad URL): reported, never sent to. */
  readonly broken: DeliveryState[] = [];
  private readonly secrets: string[] = [];
  private persistTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    targets: readonly NotifyTarget[],
    private readonly o: NotifierOptions,
  ) {
    targets.forEach((t, index) => {
      let senders: Sender[];
      try {
        const p = parseTargetUrl(t.url, o.env);
        this.secrets.push(...p.secrets);
        senders =
          p.service === 'ntfy'
            ? [ntfySender(p, o.approvalActions)]
            : p.service === 'discord'
              ? [discordSender(p, t.api_base_url)]
              : p.service === 'telegram'
                ? telegramSenders(p, t.api_base_url)
                : [jsonSender(p)];
      } catch (e) {
        const error = `notify[${index}].url: ${(e as Error).message}`;
        this.broken.push({
          target: `notify[${index}]`,
          service: '-',
          sent: 0,
          failed: 0,
          dropped: 0,
          queued: 0,
          last_error: error,
        });
        o.log.error({ err: error }, 'notification target unusable');
        return;
      }
      const kinds = t.events ? new Set<NotifyEventKind>(t.events) : undefined;
      this.routes.push({
        index,
        // `test` reaches every target whatever it asks for: that is what `notify test` is for.
        wants: (m) => m.kind === 'test' || ((!kinds || kinds.has(m.kind)) && m.priority >= t.min_priority),
        queues: senders.map(
          (s) =>
            new DeliveryQueue(s, {
              max: o.queueMax ?? 200,
              maxAttempts: o.maxAttempts ?? 6,
              baseDelayMs: o.baseDelayMs ?? 1000,
              maxDelayMs: o.maxDelayMs ?? 60_000,
              redact: (s) => this.redact(s),
              log: o.log,
              onChange: () => this.schedulePersist(),
            }),
        ),
      });
    });
  }

  /** A warning about notifications themselves, redacted like everything this module logs. */
  logWarn(msg: string, e: unknown): void {
    this.o.log.warn({ err: this.redact(e instanceof Error ? e.message : String(e)) }, msg);
  }

  /** Any text with every secret of every target removed. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  get targetCount(): number {
    return this.routes.length + this.broken.length;
  }

  /** Queue a message for every target that wants it; returns at once. */
  emit(m: NotifyMessage): void {
    if (this.closed) return;
    for (const r of this.routes) if (r.wants(m)) for (const q of r.queues) q.push(m);
  }

  /** Per destination: the outcome of `m` once delivered or given up (for `notify test`). */
  async deliver(m: NotifyMessage, timeoutMs: number) {
    this.emit(m);
    await this.flush(timeoutMs);
    return [
      ...this.broken.map((b) => ({ target: b.target, ok: false, error: b.last_error, attempts: 0 })),
      ...this.routes.flatMap((r) =>
        r.queues.map((q) => {
          const res = q.results.get(m);
          return {
            target: q.sender.label,
            ok: res?.ok ?? false,
            error: res
              ? res.error
              : `not delivered within ${timeoutMs} ms${q.state().last_error ? ` (last error: ${q.state().last_error})` : ''}`,
            attempts: res?.attempts ?? 0,
          };
        }),
      ),
    ];
  }

  /** Wait until every queue is empty, at most timeoutMs; true when everything was handled. */
  async flush(timeoutMs: number): Promise<boolean> {
    const all = this.routes.flatMap((r) => r.queues);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const drained = Promise.all(all.map((q) => q.idle())).then(() => true as const);
    try {
      return await Promise.race([drained, timedOut]);
    } finally {
      clearTimeout(timer);
      this.persistNow();
    }
  }

  states(): DeliveryState[] {
    return [...this.broken, ...this.routes.flatMap((r) => r.queues.map((q) => q.state()))];
  }

  /** Stop every queue (unsent messages are dropped) and write the state one last time. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.persistNow();
    this.closed = true;
    for (const r of this.routes) for (const q of r.queues) q.close();
  }

  persistNow(): void {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.closed || !this.o.persist) return;
    try {
      this.o.persist(this.states());
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'cannot record the notification state');
    }
  }

  private schedulePersist(): void {
    if (this.persistTimer || this.closed || !this.o.persist) return;
    // Coalesced: a burst of deliveries costs one journal write, outside the decision that caused it.
    this.persistTimer = setTimeout(() => this.persistNow(), 1000);
    this.persistTimer.unref();
  }
}
