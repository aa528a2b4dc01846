import type { Classification, IngestResult } from '@catalyst-signal/shared';
import { StoreUnavailableError } from '../errors.js';
import { sequence, type Sequenced } from '../log/sequence.js';
import type { Sequencer, SignFn, StoredSignal } from '../log/types.js';
import type { Metrics } from '../metrics.js';
import type { SignalStore } from './signals.js';

/** Receives each committed group, in seq order, in the same synchronous step as the commit. */
export type Publish = (fresh: readonly StoredSignal[]) => void;

interface Pending {
  items: Classification[];
  resolve: (r: IngestResult[]) => void;
  reject: (e: Error) => void;
}

/** SQLite error codes that mean "try again later" rather than "bug". */
const TRANSIENT = /^SQLITE_(FULL|BUSY|LOCKED|IOERR|READONLY|CANTOPEN|PROTOCOL)/;

/**
 * The single-node sequencer: group commit on SQLite. Requests that arrive in one event-loop turn are
 * committed in ONE transaction on the next turn (setImmediate): read the head, dedupe, assign seqs, sign,
 * insert, move the head (log/sequence.ts + SignalStore.insert); then published, then answered — all in one
 * synchronous block, so:
 *  - nothing is acknowledged or broadcast before it is durable (commit first);
 *  - broadcast order is seq order (no await between commit and publish, single thread);
 *  - under load a turn collects many requests, so throughput is not bound by one fsync per signal.
 */
export class SqliteSequencer implements Sequencer {
  private queue: Pending[] = [];
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly store: SignalStore,
    private readonly sign: SignFn,
    private readonly publish: Publish,
    private readonly metrics: Metrics | undefined,
    private readonly maxGroup: number,
    private readonly onPublishError: (err: unknown) => void = () => undefined,
  ) {}

  get epoch(): string {
    return this.store.epoch;
  }

  get head(): number {
    return this.store.head;
  }

  submit(items: Classification[]): Promise<IngestResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves when everything submitted so far is committed and answered (for shutdown). */
  drained(): Promise<void> {
    if (!this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length) this.commitGroup(this.takeGroup());
    for (const r of this.idle.splice(0)) r();
  }

  private takeGroup(): Pending[] {
    let n = 0;
    let i = 0;
    while (i < this.queue.length && (i === 0 || n + this.queue[i]!.items.length <= this.maxGroup)) {
      n += this.queue[i]!.items.length;
      i++;
    }
    return this.queue.splice(0, i);
  }

  /** One transaction: the head is read and moved inside it, so the seqs chosen are the seqs stored. */
  private append(items: Classification[]): Sequenced {
    const store = this.store;
    return store.transaction(() => {
      const out = sequence(items, {
        head: store.readHead(),
        epoch: store.epoch,
        now: new Date(),
        seqOf: (id) => store.seqOf(id),
        sign: this.sign,
      });
      store.insert(out.fresh);
      return out;
    });
  }

  private commitGroup(group: Pending[]): void {
    const items = group.flatMap((p) => p.items);
    const t0 = process.hrtime.bigint();
    let outcome;
    try {
      outcome = this.append(items);
    } catch (err) {
      try {
        this.store.resyncHead();
      } catch {
        // The database itself is gone (closed under a pending group): the head is read again when it is opened.
        // Throwing here would escape setImmediate and leave this group's publishers unanswered.
      }
      const e = err as Error & { code?: string };
      const out =
        typeof e.code === 'string' && TRANSIENT.test(e.code)
          ? new StoreUnavailableError(`database unavailable (${e.code})`, { cause: err })
          : e;
      for (const p of group) p.reject(out);
      return;
    }
    const t1 = process.hrtime.bigint();
    if (outcome.fresh.length) {
      // Committed is committed: a fan-out bug must neither crash the process nor leave publishers
      // unanswered (subscribers then catch up from the log on their next resume).
      try {
        this.publish(outcome.fresh);
      } catch (err) {
        this.onPublishError(err);
      }
    }
    const t2 = process.hrtime.bigint();
    let at = 0;
    for (const p of group) {
      p.resolve(outcome.results.slice(at, at + p.items.length));
      at += p.items.length;
    }
    if (this.metrics) {
      this.metrics.commitSeconds.observe(Number(t1 - t0) / 1e9);
      this.metrics.commitBatch.observe(items.length);
      if (outcome.fresh.length) this.metrics.fanoutSeconds.observe(Number(t2 - t1) / 1e9);
      this.metrics.signalsIngested.inc(outcome.fresh.length);
      this.metrics.duplicates.inc(items.length - outcome.fresh.length);
    }
  }
}
