import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from '../logger.js';
import {
  contend,
  leaseTermProblem,
  LeaseRecordSchema,
  mayAct,
  recordFor,
  renewEveryMs,
  type LeaseSeen,
  type LeaseTerm,
} from './lease-term.js';

export interface KvLeaseOptions extends LeaseTerm {
  kv: KV;
  /** The KV key the lease lives in, e.g. `checkpoint_lease` in the meta bucket. */
  key: string;
  /** This contender's id, unique per process. */
  node: string;
  log?: Logger;
  /** Wall clock, ms; injectable so a test can skew one node. */
  now?: () => number;
}

export type LeaseEvent = 'acquired' | 'lost';

/** Whether a KV write was refused because the entry moved on (someone else wrote first). */
const isConflict = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
    err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * A lease on one KV key (rules in lease-term.ts): taken with `kv.create`, renewed with `kv.update` on the
 * revision it wrote every third of the term, taken over with `kv.update` on the revision read only after the
 * holder's term plus the skew margin. The holder stops the moment a renewal fails or its term runs out, even
 * while a renewal is still in flight: callers ask `isHeld()` right before each act, which also covers a
 * process that was paused past its term (its timers had no chance to run).
 */
export class KvLease {
  private readonly term: LeaseTerm;
  private readonly now: () => number;
  private holding: { revision: number; until: number } | undefined;
  /** Bumped at every acquire and loss, so a late answer to an older write never revives a lost lease. */
  private generation = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;
  private readonly listeners = { acquired: new Set<() => void>(), lost: new Set<(why: string) => void>() };

  constructor(private readonly o: KvLeaseOptions) {
    this.term = { termMs: o.termMs, skewMs: o.skewMs };
    const problem = leaseTermProblem(this.term);
    if (problem) throw new Error(problem);
    this.now = o.now ?? Date.now;
  }

  on(event: 'acquired', fn: () => void): this;
  on(event: 'lost', fn: (why: string) => void): this;
  on(event: LeaseEvent, fn: ((why: string) => void) | (() => void)): this {
    (this.listeners[event] as Set<typeof fn>).add(fn);
    return this;
  }

  get node(): string {
    return this.o.node;
  }

  /** True only while this process holds the lease and its term has not run out: ask right before acting. */
  isHeld(): boolean {
    if (!this.holding) return false;
    if (mayAct(this.holding.until, this.now())) return true;
    this.lose('term ended before a renewal succeeded');
    return false;
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => {
      this.o.log?.error({ err: (err as Error).message, lease: this.o.key }, 'lease loop stopped');
      this.lose('lease loop stopped');
    });
  }

  /**
   * Stop contending. A holder stops acting first, then writes its term as ended (on the revision it holds) so a
   * successor need not wait the term out; if that write fails the term simply runs out.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    await this.running;
    const held = this.holding;
    this.lose('stopped');
    if (held && mayAct(held.until, this.now())) {
      const ended = JSON.stringify({ node: this.o.node, until_ms: 0 });
      await this.o.kv.update(this.o.key, ended, held.revision).catch(() => undefined);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.holding) await this.renew();
      else await this.contendOnce();
    }
  }

  private async renew(): Promise<void> {
    await this.sleep(renewEveryMs(this.term));
    if (this.stopped || !this.isHeld()) return;
    const gen = this.generation;
    const sent = this.now();
    const rec = recordFor(this.o.node, sent, this.term);
    try {
      const revision = await this.o.kv.update(this.o.key, JSON.stringify(rec), this.holding!.revision);
      if (gen !== this.generation) return;
      this.hold(revision, rec.until_ms);
    } catch (err) {
      if (gen === this.generation) this.lose(`renewal failed: ${(err as Error).message}`);
    }
  }

  private async contendOnce(): Promise<void> {
    let seen: LeaseSeen;
    try {
      seen = await this.read();
    } catch (err) {
      this.o.log?.warn({ err: (err as Error).message, lease: this.o.key }, 'lease: cannot read, retrying');
      await this.sleep(renewEveryMs(this.term));
      return;
    }
    const step = contend(seen, this.now(), this.term);
    if (step.kind === 'wait') {
      await this.sleep(step.ms);
      return;
    }
    if (this.stopped) return;
    const sent = this.now();
    const rec = recordFor(this.o.node, sent, this.term);
    const data = JSON.stringify(rec);
    try {
      const revision =
        step.kind === 'create'
          ? await this.o.kv.create(this.o.key, data)
          : await this.o.kv.update(this.o.key, data, step.revision);
      if (this.stopped) return;
      this.generation++;
      this.hold(revision, rec.until_ms);
      this.o.log?.info({ lease: this.o.key, node: this.o.node, revision }, 'lease acquired');
      for (const fn of this.listeners.acquired) fn();
    } catch (err) {
      // A conflict means another contender wrote first: read again and wait for its term.
      if (!isConflict(err)) {
        this.o.log?.warn({ err: (err as Error).message, lease: this.o.key }, 'lease: write failed, retrying');
        await this.sleep(renewEveryMs(this.term));
      }
    }
  }

  private async read(): Promise<LeaseSeen> {
    const e = await this.o.kv.get(this.o.key);
    if (!e) return { kind: 'absent' };
    if (e.operation !== 'PUT') return { kind: 'absent', revision: e.revision };
    let parsed: unknown;
    try {
      parsed = e.json();
    } catch {
      return { kind: 'malformed', revision: e.revision };
    }
    const r = LeaseRecordSchema.safeParse(parsed);
    return r.success
      ? { kind: 'held', record: r.data, revision: e.revision }
      : { kind: 'malformed', revision: e.revision };
  }

  private hold(revision: number, until: number): void {
    this.holding = { revision, until };
    clearTimeout(this.deadline);
    // Stop at the term's end even if the loop is stuck in a slow renewal.
    this.deadline = setTimeout(() => this.isHeld(), Math.max(0, until - this.now()));
    this.deadline.unref();
  }

  private lose(why: string): void {
    clearTimeout(this.deadline);
    if (!this.holding) return;
    this.holding = undefined;
    this.generation++;
    this.o.log?.warn({ lease: this.o.key, node: this.o.node, why }, 'lease lost');
    for (const fn of this.listeners.lost) fn(why);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
    });
  }
}
