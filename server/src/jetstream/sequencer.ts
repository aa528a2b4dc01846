import { JetStreamApiCodes, JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import type { Classification, IngestResult } from '@catalyst-signal/shared';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { seal, unsignedSignal } from '../log/leaf.js';
import type { Sequencer, SignFn } from '../log/types.js';
import { isTransient, subjectFor } from './cluster-log.js';
import type { NatsHandle } from './connection.js';

export interface ClusterSequencerOptions {
  handle: NatsHandle;
  stream: string;
  /** The cluster log's epoch (ensureClusterLog): carried and signed in every signal. */
  epoch: string;
  sign: SignFn;
  /** Publishes in flight at once, with consecutive expected seqs. 1 = one at a time. Default 64. */
  maxInFlight?: number;
  /** How long a publish waits for the cluster's ack before the item is answered 503. Default 2 s. */
  publishTimeoutMs?: number;
  /** Times one item is re-sequenced after losing a race to another ingest node, before it gets 503. */
  maxAttempts?: number;
  /** Most signals waiting or in flight; beyond it a submit is answered 503 at once. Default 10,000. */
  maxQueue?: number;
  now?: () => Date;
  logger?: Logger;
  /** Observes each publish: seconds from send to settled answer (metrics). */
  onPublish?: (seconds: number) => void;
}

/** Answered 503 + Retry-After by the HTTP layer: the signal was NOT acked; retrying the same source_id is safe. */
export class ClusterUnavailableError extends StoreUnavailableError {
  override name = 'ClusterUnavailableError';
}

interface Pending {
  item: Classification;
  attempts: number;
  resolve: (r: IngestResult) => void;
  reject: (e: Error) => void;
}

type Outcome =
  | { kind: 'stored'; seq: number }
  | { kind: 'duplicate'; seq: number }
  | { kind: 'conflict' }
  | { kind: 'unavailable'; err: unknown }
  | { kind: 'failed'; err: unknown };

const CONFLICT_CODES: ReadonlySet<number> = new Set([
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
]);

/**
 * The cluster Sequencer: gives each new signal the next stream seq, signs it with that seq, and stores it in
 * JetStream such that stream seq == signal seq, one seq per source_id, across any number of ingest nodes.
 *
 * Each publish carries three guards, all checked by the stream leader atomically with the append:
 *  - `Nats-Msg-Id: source_id`: inside the duplicate window, a repeat is answered with the ORIGINAL seq;
 *  - expected last sequence = the seq we signed minus one: the message is stored at exactly the seq it was
 *    signed with, or not at all (another ingest node took that seq → 10071, re-sequence and retry);
 *  - expected last subject sequence = 0 on the source_id's own subject: beyond the window, a second seq for
 *    a source_id already stored is refused (10071 too; the stored one is looked up and returned as duplicate).
 * Up to maxInFlight publishes are in flight at once, a chain of consecutive expectations; if one fails, the
 * rest of the chain is refused by the stream as well and simply re-sequenced from the leader's head. A timeout or no-responders answers the
 * item 503 (the client retries with the same source_id; the guards make that safe whether or not it landed).
 */
export class ClusterSequencer implements Sequencer {
  private readonly queue: Pending[][] = [];
  /** Seq the next publish is signed with; undefined = ask the leader for its head first. */
  private nextSeq: number | undefined;
  /** Highest seq this node saw acked (its own acks or the leader's answers). */
  private headSeen = 0;
  private inFlight = 0;
  /** Publishes (and conflict look-ups) in flight, by source_id: a repeat joins the original's group. */
  private readonly bySource = new Map<string, Pending[]>();
  /** A publish failed: launch nothing more until everything in flight settled, then re-read the head. */
  private broken = false;
  /** The chain broke because the cluster did not answer: fail what is queued now rather than drip it out. */
  private outage: ClusterUnavailableError | undefined;
  /** Items waiting (not yet launched), bounded by maxQueue. */
  private queued = 0;
  private refreshing = false;
  private closed = false;
  private readonly o: Required<
    Pick<ClusterSequencerOptions, 'maxInFlight' | 'publishTimeoutMs' | 'maxAttempts' | 'maxQueue'>
  > &
    ClusterSequencerOptions;
  private readonly idle: (() => void)[] = [];

  constructor(o: ClusterSequencerOptions) {
    this.o = { maxInFlight: 64, publishTimeoutMs: 2000, maxAttempts: 8, maxQueue: 10_000, ...o };
  }

  get epoch(): string {
    return this.o.epoch;
  }

  /** The highest seq this node knows to be stored (its own acks or the leader's last answer). */
  get head(): number {
    return this.headSeen;
  }

  /** One result per item, in order; rejects with ClusterUnavailableError when any item was not acked. */
  submit(items: readonly Classification[]): Promise<IngestResult[]> {
    if (this.closed) return Promise.reject(new ClusterUnavailableError('ingest is shutting down'));
    if (this.queued + items.length > this.o.maxQueue)
      return Promise.reject(
        new ClusterUnavailableError(`ingest queue full (${this.queued} signals waiting)`),
      );
    const all = items.map(
      (item) =>
        new Promise<IngestResult>((resolve, reject) => this.enqueue({ item, attempts: 0, resolve, reject })),
    );
    this.pump();
    // Settle every item before answering, so a batch never answers while parts of it are still in flight.
    return Promise.allSettled(all).then((rs) => {
      const failed = rs.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return rs.map((r) => (r as PromiseFulfilledResult<IngestResult>).value);
    });
  }

  /** Learn the head from the stream leader now (at start-up, so `head` is right before the first POST). */
  async syncHead(): Promise<number> {
    this.headSeen = Math.max(this.headSeen, await this.leaderHead());
    return this.headSeen;
  }

  /** Resolves when everything submitted so far has been answered (for shutdown). */
  drained(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Refuse new items; resolves when everything queued has been answered. */
  close(): Promise<void> {
    this.closed = true;
    return this.drained();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0 && !this.refreshing;
  }

  private enqueue(p: Pending): void {
    // Same source_id already waiting or in flight: it rides along and gets the same answer (a duplicate).
    const same = this.bySource.get(p.item.source_id);
    this.queued++;
    if (same) same.push(p);
    else {
      const g = [p];
      this.bySource.set(p.item.source_id, g);
      this.queue.push(g);
    }
  }

  /**
   * Launches queued items while the window has room. Each publish expects the previous seq, so consecutive
   * launches form a chain; after any failure the rest of the chain cannot land at its signed seq, so nothing
   * new is launched until the chain has settled and the head is read again from the leader.
   */
  private pump(): void {
    while (!this.broken && this.nextSeq !== undefined && this.inFlight < this.o.maxInFlight) {
      const g = this.queue.shift();
      if (!g) break;
      this.launch(g, this.nextSeq++);
    }
    if ((this.broken || this.nextSeq === undefined) && this.inFlight === 0 && !this.refreshing) {
      // The chain settled after the cluster failed to answer: everything that queued up meanwhile gets 503
      // now (the publishers retry after Retry-After) instead of going out 64 at a time into the outage.
      if (this.outage) for (const g of this.queue.splice(0)) this.settle(g, this.outage);
      this.outage = undefined;
      if (this.queue.length) void this.refreshHead();
    }
    if (this.isIdle()) for (const r of this.idle.splice(0)) r();
  }

  private async refreshHead(): Promise<void> {
    this.refreshing = true;
    try {
      this.headSeen = Math.max(this.headSeen, await this.leaderHead());
      this.nextSeq = this.headSeen + 1;
      this.broken = false;
    } catch (err) {
      // No leader (election in progress, quorum lost): everything queued now gets 503.
      const e = unavailable(err);
      for (const g of this.queue.splice(0)) this.settle(g, e);
    } finally {
      this.refreshing = false;
    }
    this.pump();
  }

  private launch(g: Pending[], seq: number): void {
    this.inFlight++;
    const t0 = process.hrtime.bigint();
    const now = (this.o.now ?? (() => new Date()))().toISOString();
    void this.publishOne(g[0]!.item, seq, now)
      .then((out) => this.handle(g, out, seq))
      .catch((err: unknown) => this.settle(g, err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.inFlight--;
        this.o.onPublish?.(Number(process.hrtime.bigint() - t0) / 1e9);
        this.pump();
      });
  }

  private async handle(g: Pending[], out: Outcome, seq: number): Promise<void> {
    const sourceId = g[0]!.item.source_id;
    if (out.kind === 'stored') {
      this.headSeen = Math.max(this.headSeen, out.seq);
      return this.settle(g, { seq: out.seq, first: true });
    }
    // Whatever else happened, the seq we signed was not used by us: the chain after it is broken.
    if (out.kind === 'duplicate' && this.inFlight === 1 && this.nextSeq === seq + 1) {
      // A repeat (Catalyst-Bot resending) with nothing launched after it: its seq is simply the next one
      // again; no need to ask the leader for the head.
      this.nextSeq = seq;
      return this.settle(g, { seq: out.seq, first: false });
    }
    this.broken = true;
    if (out.kind === 'duplicate') return this.settle(g, { seq: out.seq, first: false });
    if (out.kind !== 'conflict') {
      const e = out.kind === 'unavailable' ? unavailable(out.err) : (out.err as Error);
      if (e instanceof ClusterUnavailableError) this.outage = e;
      return this.settle(g, e);
    }
    // Refused: another node took the seq (re-sequence), or the source_id is stored beyond the dedupe window
    // (answer its seq). Asked of the stream leader, not a direct get: any replica answers those, and one
    // can miss a write that just happened.
    let stored: number | undefined;
    try {
      stored = await this.storedSeq(sourceId);
    } catch (err) {
      return this.settle(g, unavailable(err));
    }
    if (stored !== undefined) return this.settle(g, { seq: stored, first: false });
    if (++g[0]!.attempts >= this.o.maxAttempts) {
      return this.settle(
        g,
        new ClusterUnavailableError(`lost the seq race ${g[0]!.attempts} times (busy ingest nodes)`),
      );
    }
    // Back at the front, so a retried item is not overtaken by later arrivals (still in bySource).
    this.queue.unshift(g);
  }

  /** Answers a group: the first of it got `seq` (new when `first`), repeats are duplicates; or all fail. */
  private settle(g: Pending[], r: { seq: number; first: boolean } | Error): void {
    const sourceId = g[0]!.item.source_id;
    this.queued -= g.length;
    if (this.bySource.get(sourceId) === g) this.bySource.delete(sourceId);
    g.forEach((p, i) => {
      if (r instanceof Error) p.reject(r);
      else p.resolve({ source_id: sourceId, seq: r.seq, duplicate: !(r.first && i === 0) });
    });
  }

  private async publishOne(item: Classification, seq: number, ingestedAt: string): Promise<Outcome> {
    const { json } = seal(unsignedSignal(item, seq, this.o.epoch, ingestedAt), this.o.sign);
    let ack: PubAck;
    try {
      ack = await this.o.handle.js.publish(subjectFor(item.source_id), json, {
        msgID: item.source_id,
        timeout: this.o.publishTimeoutMs,
        expect: { streamName: this.o.stream, lastSequence: seq - 1, lastSubjectSequence: 0 },
      });
    } catch (err) {
      if (err instanceof JetStreamApiError && CONFLICT_CODES.has(err.code)) return { kind: 'conflict' };
      // Anything else (timeout, no responders, a leader change's API error, a closed connection): not
      // acked, so 503 is always a truthful answer and a retry with the same source_id is always safe.
      if (!isTransient(err)) this.o.logger?.warn({ err }, 'publish to the cluster log failed');
      return { kind: 'unavailable', err };
    }
    if (ack.duplicate) return { kind: 'duplicate', seq: ack.seq };
    if (ack.seq !== seq) {
      // Cannot happen while the stream honours expected-last-sequence; if it ever did, the stored signal's
      // signed seq would differ from its stream seq: stop answering rather than ack a broken log.
      this.o.logger?.fatal({ signed: seq, stored: ack.seq }, 'stream stored a signal at another seq');
      return { kind: 'failed', err: new Error(`stream stored seq ${ack.seq} for a signal signed as ${seq}`) };
    }
    return { kind: 'stored', seq };
  }

  /** The seq already stored for source_id (its subject's last message), or undefined. */
  private async storedSeq(sourceId: string): Promise<number | undefined> {
    const m = await this.o.handle.jsm.streams.getMessage(this.o.stream, {
      last_by_subj: subjectFor(sourceId),
    });
    return m ? m.seq : undefined;
  }

  private async leaderHead(): Promise<number> {
    const info = await this.o.handle.jsm.streams.info(this.o.stream);
    return info.state.last_seq;
  }
}

function unavailable(cause: unknown): ClusterUnavailableError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ClusterUnavailableError(`signal cluster unavailable: ${why}`, { cause });
}
