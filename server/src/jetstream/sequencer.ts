import { JetStreamApiCodes, JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import type { Classification, IngestResult, Signal } from '@catalyst-signal/shared';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SignFn } from '../store/signals.js';
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
  now?: () => Date;
  logger?: Logger;
  /** Observes each publish round: items, seconds (metrics). */
  onRound?: (items: number, seconds: number) => void;
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
 * Up to maxInFlight items go out at once with consecutive expectations; if one is refused, those after it
 * are refused as well and simply re-sequenced from the leader's head. A timeout or no-responders answers the
 * item 503 (the client retries with the same source_id; the guards make that safe whether or not it landed).
 */
export class ClusterSequencer {
  private readonly queue: Pending[] = [];
  /** Head as last learnt from the leader or from our own acks; undefined = ask the leader first. */
  private head: number | undefined;
  private running = false;
  private closed = false;
  private readonly o: Required<
    Pick<ClusterSequencerOptions, 'maxInFlight' | 'publishTimeoutMs' | 'maxAttempts'>
  > &
    ClusterSequencerOptions;
  private readonly idle: (() => void)[] = [];

  constructor(o: ClusterSequencerOptions) {
    this.o = { maxInFlight: 64, publishTimeoutMs: 2000, maxAttempts: 8, ...o };
  }

  get epoch(): string {
    return this.o.epoch;
  }

  /** The highest seq this node knows to be stored (its own acks or the leader's last answer); 0 if unknown. */
  get knownHead(): number {
    return this.head ?? 0;
  }

  /** One result per item, in order; rejects with ClusterUnavailableError when any item was not acked. */
  submit(items: readonly Classification[]): Promise<IngestResult[]> {
    if (this.closed) return Promise.reject(new ClusterUnavailableError('ingest is shutting down'));
    const all = items.map(
      (item) =>
        new Promise<IngestResult>((resolve, reject) =>
          this.queue.push({ item, attempts: 0, resolve, reject }),
        ),
    );
    this.kick();
    // Settle every item before answering, so a batch never answers while parts of it are still in flight.
    return Promise.allSettled(all).then((rs) => {
      const failed = rs.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      return rs.map((r) => (r as PromiseFulfilledResult<IngestResult>).value);
    });
  }

  /** Refuse new items; resolves when everything queued has been answered. */
  close(): Promise<void> {
    this.closed = true;
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      for (const r of this.idle.splice(0)) r();
      if (this.queue.length) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.queue.length) {
      if (this.head === undefined) {
        try {
          this.head = await this.leaderHead();
        } catch (err) {
          // No leader (election in progress, quorum lost): everything queued now gets 503.
          const e = unavailable(err);
          for (const p of this.queue.splice(0)) p.reject(e);
          return;
        }
      }
      await this.round(this.takeRound());
    }
  }

  /** Up to maxInFlight items, skipping (for now) any whose source_id is already in this round. */
  private takeRound(): Pending[][] {
    const round = new Map<string, Pending[]>();
    const rest: Pending[] = [];
    for (const p of this.queue) {
      const same = round.get(p.item.source_id);
      if (same) same.push(p);
      else if (round.size < this.o.maxInFlight) round.set(p.item.source_id, [p]);
      else rest.push(p);
    }
    this.queue.splice(0, this.queue.length, ...rest);
    return [...round.values()];
  }

  private async round(groups: Pending[][]): Promise<void> {
    const t0 = process.hrtime.bigint();
    const base = this.head!;
    const now = (this.o.now ?? (() => new Date()))().toISOString();
    const outcomes = await Promise.all(groups.map((g, i) => this.publishOne(g[0]!.item, base + i + 1, now)));
    const retry: Pending[][] = [];
    let headKnown = true;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const out = outcomes[i]!;
      const sourceId = g[0]!.item.source_id;
      if (out.kind === 'stored') {
        this.head = Math.max(this.head ?? 0, out.seq);
        g[0]!.resolve({ source_id: sourceId, seq: out.seq, duplicate: false });
        // Same source_id twice in flight: the first is the original, the rest are its duplicates.
        for (const p of g.slice(1)) p.resolve({ source_id: sourceId, seq: out.seq, duplicate: true });
      } else if (out.kind === 'duplicate') {
        for (const p of g) p.resolve({ source_id: sourceId, seq: out.seq, duplicate: true });
      } else if (out.kind === 'conflict') {
        headKnown = false;
        retry.push(g);
      } else {
        // Not acked: the item may or may not have landed, so our head is no longer known either.
        headKnown = false;
        const e = out.kind === 'unavailable' ? unavailable(out.err) : (out.err as Error);
        for (const p of g) p.reject(e);
      }
    }
    if (!headKnown) this.head = undefined;
    if (retry.length) await this.resolveConflicts(retry);
    this.o.onRound?.(groups.length, Number(process.hrtime.bigint() - t0) / 1e9);
  }

  /**
   * A refused publish: either another node took the seq (re-sequence) or the source_id is already stored
   * beyond the duplicate window (answer its original seq). Asked of the stream leader (not a direct get,
   * which any replica answers and can miss a write that just happened).
   */
  private async resolveConflicts(groups: Pending[][]): Promise<void> {
    const requeue: Pending[] = [];
    for (const g of groups) {
      const sourceId = g[0]!.item.source_id;
      let stored: number | undefined;
      try {
        stored = await this.storedSeq(sourceId);
      } catch (err) {
        const e = unavailable(err);
        for (const p of g) p.reject(e);
        continue;
      }
      if (stored !== undefined) {
        for (const p of g) p.resolve({ source_id: sourceId, seq: stored, duplicate: true });
      } else if (++g[0]!.attempts >= this.o.maxAttempts) {
        const e = new ClusterUnavailableError(
          `lost the seq race ${g[0]!.attempts} times (busy ingest nodes)`,
        );
        for (const p of g) p.reject(e);
      } else {
        requeue.push(...g);
      }
    }
    // Back at the front, in their original order, so a retried item is not overtaken by later arrivals.
    this.queue.unshift(...requeue);
  }

  private async publishOne(item: Classification, seq: number, ingestedAt: string): Promise<Outcome> {
    const unsigned = { ...item, seq, epoch: this.o.epoch, ingested_at: ingestedAt };
    const signal: Signal = { ...unsigned, sig: this.o.sign(unsigned) };
    let ack: PubAck;
    try {
      ack = await this.o.handle.js.publish(subjectFor(item.source_id), JSON.stringify(signal), {
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
