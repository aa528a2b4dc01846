import type { KV } from '@nats-io/kv';
import type { HorizonOutcome } from '@catalyst-signal/shared/outcomes';
import type { NatsHandle } from '../jetstream/connection.js';
import { KvLease } from '../jetstream/lease.js';
import { OUTCOMES_LEASE_KEY, OutcomesBucket } from '../jetstream/outcomes-kv.js';
import type { Logger } from '../logger.js';
import type { OutcomeLoop, OutcomeWorkerDeps } from '../outcomes/worker.js';
import type { OutcomeDb, OutcomeJob, PublishedOutcome } from '../store/outcome-db.js';

/** What a cluster driver offers the outcome service: its connection, and whether it may compute (`both`). */
export interface OutcomeClusterLink {
  nats: NatsHandle;
  meta: KV;
  /** A `both` node: it has the replica the worker reads and may write to NATS. Gateways only mirror. */
  mayCompute: boolean;
}

/** The link and the lease's settings, from the node's config. */
export interface OutcomeCluster extends OutcomeClusterLink {
  replicas: number;
  node: string;
  termMs: number;
  skewMs: number;
}

export interface ClusterOutcomesOptions {
  cluster: OutcomeCluster;
  db: OutcomeDb;
  log: Logger;
  /** Starts the worker's loop with this way of storing figures; absent: this node only mirrors. */
  compute?: ((save: NonNullable<OutcomeWorkerDeps['save']>) => OutcomeLoop) | undefined;
  /** How often a gateway looks again for a bucket no `both` node has created yet. */
  retryMs?: number;
  /** How often the watch is checked for a stall (behind the bucket and no progress): default 10 s, 0 off. */
  watchdogMs?: number;
}

/**
 * Outcomes in cluster mode (docs/outcomes.md "Cluster mode"). Every node applies what the lease holder
 * published into its own outcomes.db (so every gateway serves the track record from a local file). A `both`
 * node with an outcomes block also contends for `outcomes_lease`; while it holds it, once its store has
 * applied everything published before (no job computed twice), it runs the worker, which publishes each
 * signal's figures fenced before storing them. It stops the moment the lease is lost.
 */
export class ClusterOutcomes {
  readonly lease: KvLease | undefined;
  private bucket: OutcomesBucket | undefined;
  private watch: { stop(): void } | undefined;
  private loop: OutcomeLoop | undefined;
  /** Bumped at each start and stop of computing: a late step of an older start does nothing. */
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private retry: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly o: ClusterOutcomesOptions) {
    const c = o.cluster;
    if (o.compute && c.mayCompute) {
      this.lease = new KvLease({
        kv: c.meta,
        key: OUTCOMES_LEASE_KEY,
        node: c.node,
        termMs: c.termMs,
        skewMs: c.skewMs,
        log: o.log,
      });
      this.lease.on('acquired', () => void this.begin());
      this.lease.on('lost', () => void this.end());
    }
  }

  static async start(o: ClusterOutcomesOptions): Promise<ClusterOutcomes> {
    const s = new ClusterOutcomes(o);
    await s.open();
    return s;
  }

  /** Whether this node computes outcomes now (tests, /healthz). */
  get computing(): boolean {
    return this.loop !== undefined && (this.lease?.isHeld() ?? false);
  }

  private async open(): Promise<void> {
    const c = this.o.cluster;
    this.bucket = this.lease
      ? await OutcomesBucket.ensure(c.nats, c.replicas)
      : await OutcomesBucket.openExisting(c.nats);
    if (!this.bucket) {
      // A gateway before any `both` node computed: nothing to mirror yet.
      this.retry = setTimeout(
        () => void this.open().catch((err: unknown) => this.warn(err)),
        this.o.retryMs ?? 5000,
      );
      this.retry.unref();
      return;
    }
    if (this.closed) return;
    await this.startWatch();
    this.startWatchdog();
    this.lease?.start();
  }

  private async startWatch(): Promise<void> {
    this.watch?.stop();
    this.watch = await this.bucket!.watch(
      this.o.db.publishedSeq(),
      (r, seq) => {
        this.o.db.applyPublished(r, seq);
        for (const w of this.waiters) w();
      },
      (key, why) => this.o.log.warn({ key, why }, 'outcomes: a published record is malformed; skipped'),
    );
  }

  /**
   * The watch is a push consumer on one NATS server; if that server dies it can stall without a word
   * (../shared/notes/jetstream.md). When a record that was already in the bucket at the previous check is
   * still not applied, the watch is started again from the last applied record (applying is idempotent).
   */
  private startWatchdog(): void {
    const every = this.o.watchdogMs ?? 10_000;
    if (every <= 0) return;
    let lastBefore = 0;
    const check = async () => {
      const applied = this.o.db.publishedSeq();
      const stalled = lastBefore > applied;
      lastBefore = await this.bucket!.lastSeq();
      if (stalled && !this.closed) {
        this.o.log.warn({ applied }, 'outcomes: the watch fell behind the bucket; starting it again');
        await this.startWatch();
      }
    };
    this.watchdog = setInterval(() => void check().catch((err: unknown) => this.warn(err)), every);
    this.watchdog.unref();
  }

  /** Resolves once this store applied every record up to stream seq `n`. */
  private reached(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.o.db.publishedSeq() < n && !this.closed) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  private async begin(): Promise<void> {
    const gen = ++this.generation;
    const bucket = this.bucket!;
    try {
      const last = await bucket.lastSeq();
      await this.reached(last);
      if (gen !== this.generation || this.closed || !this.lease?.isHeld()) return;
      const publisher = bucket.publisher(last);
      const save = async (
        job: OutcomeJob,
        final: readonly HorizonOutcome[],
        nextDue: number | undefined,
        now: number,
      ) => {
        if (gen !== this.generation || !this.lease?.isHeld()) throw new Error('outcomes lease not held');
        const facets = this.o.db.facet(job.seq);
        if (!facets) throw new Error(`no facets stored for signal ${job.seq}`);
        const byHorizon = new Map(this.o.db.outcomes(job.seq).map((x) => [x.horizon, x]));
        for (const f of final) byHorizon.set(f.horizon, f);
        const record: PublishedOutcome = {
          seq: job.seq,
          symbol: job.symbol,
          signal: job.signal,
          facets,
          outcomes: [...byHorizon.values()],
          next_due: nextDue ?? null,
          computed_at: now,
        };
        try {
          const seq = await publisher.publish(record);
          this.o.db.applyPublished(record, seq);
          for (const w of this.waiters) w();
        } catch (err) {
          // Fenced (another node published) or NATS failed: read up to the end again before computing on.
          this.o.log.warn({ err: (err as Error).message }, 'outcomes: publish refused or failed; resyncing');
          if (gen === this.generation)
            void this.end().then(() => {
              if (this.lease?.isHeld() && !this.closed) void this.begin();
            });
          throw err;
        }
      };
      this.loop = this.o.compute!(save);
      this.o.log.info({ from_seq: last }, 'outcomes: this node computes them now (lease holder)');
    } catch (err) {
      this.warn(err);
      if (gen === this.generation && this.lease?.isHeld() && !this.closed) {
        const t = setTimeout(() => void this.begin(), Math.max(100, this.o.cluster.termMs / 3));
        t.unref();
      }
    }
  }

  /** Stop computing; resolves once a run in progress ended. */
  private end(): Promise<void> {
    this.generation++;
    const loop = this.loop;
    this.loop = undefined;
    return loop?.stop() ?? Promise.resolve();
  }

  private warn(err: unknown): void {
    this.o.log.warn({ err: (err as Error).message }, 'outcomes: cluster step failed; retrying');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.watchdog);
    await this.end();
    await this.lease?.stop();
    this.watch?.stop();
    for (const w of this.waiters) w();
  }
}
