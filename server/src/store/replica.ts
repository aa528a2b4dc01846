import { SignalSchema, type Signal } from '@catalyst-signal/shared';
import type { StoredSignal } from '../log/types.js';
import type { Db } from './db.js';
import { getMeta } from './db.js';
import { SignalStore } from './signals.js';

/** Why a replica refuses to serve. Every one is recovered the same way: move the replica aside. */
export const Divergence = {
  /** The replica was filled from another cluster log (another epoch). */
  epoch: 'epoch_mismatch',
  /** The data dir holds a single-node log, not a replica. */
  notReplica: 'not_a_replica',
  /** The replica holds seqs the cluster never had. */
  ahead: 'ahead_of_cluster',
  /** The signal stored at some seq is not the cluster's signal at that seq. */
  differs: 'content_differs',
  /** The stream no longer holds head+1 (retention removed it): the replica can never close the gap. */
  behind: 'behind_retention',
  /** The log delivered something that cannot follow the head (a hole, a signal not for this seq). */
  order: 'order',
} as const;
export type DivergenceReason = (typeof Divergence)[keyof typeof Divergence];

export interface Diverged {
  reason: DivergenceReason;
  /** One sentence naming both epochs and/or the seq: logged, and the 503 detail. */
  detail: string;
  localEpoch: string;
  clusterEpoch: string;
  seq?: number;
}

/** What the gateway knows of the cluster log when it starts. */
export interface ClusterView {
  epoch: string;
  /** Oldest seq the stream still holds (last + 1 when empty). */
  firstSeq: number;
  /** Newest seq in the stream (0 when empty). */
  lastSeq: number;
}

/** A signal that does not fit at head + 1 (a gap or a repeat). Refused, never papered over. */
export class ReplicaOrderError extends Error {
  override name = 'ReplicaOrderError';
  constructor(
    readonly expected: number,
    readonly got: number,
  ) {
    super(`replica expected seq ${expected}, got ${got}: ${got > expected ? 'a gap' : 'a repeat'}`);
  }
}

/** A payload that is not a signal of this cluster (bad JSON, schema, epoch): the log itself is wrong. */
export class ReplicaPayloadError extends Error {
  override name = 'ReplicaPayloadError';
}

const SQL = {
  setHead: `UPDATE meta SET value = ? WHERE key = 'head_seq'`,
  setMeta: `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  count: `SELECT count(*) FROM signals`,
} as const;

/** Meta key holding the cluster epoch this replica follows; absent in a single-node store. */
export const CLUSTER_EPOCH_KEY = 'cluster_epoch';

/**
 * A gateway's local copy of the cluster log, in the single-node schema, so the single-node readers (history,
 * replay, getJson through `store`) serve it unchanged. Unlike the single-node store it never assigns a seq and
 * never signs: `applySequenced` stores the cluster's bytes verbatim, only at head + 1. Its meta `epoch` is the
 * cluster's epoch, so hello, subscribed and history report what every other gateway reports.
 */
export class Replica {
  readonly store: SignalStore;
  private readonly stmt;
  private divergedState: Diverged | undefined;

  private constructor(
    private readonly db: Db,
    readonly clusterEpoch: string,
    initial: Diverged | undefined,
  ) {
    this.store = new SignalStore(db);
    this.divergedState = initial;
    this.stmt = { setHead: db.prepare(SQL.setHead) };
  }

  /**
   * Open the replica in `db` for the cluster whose epoch is `clusterEpoch`. An empty store adopts that epoch
   * (recorded in meta before the first apply, so the first signal served already carries it); a store
   * recorded under another epoch, or holding a single-node log, opens DIVERGED: it can be inspected, not served.
   */
  static open(db: Db, clusterEpoch: string): Replica {
    const recorded = getMeta(db, CLUSTER_EPOCH_KEY);
    const localEpoch = getMeta(db, 'epoch') ?? '';
    const empty =
      Number(getMeta(db, 'head_seq') ?? 0) === 0 && (db.prepare(SQL.count).pluck().get() as number) === 0;
    let diverged: Diverged | undefined;
    if (empty) {
      // Nothing stored, nothing served: (re)adopting the cluster's epoch cannot mix two histories.
      if (recorded !== clusterEpoch) {
        const set = db.prepare(SQL.setMeta);
        db.transaction(() => {
          set.run('epoch', clusterEpoch);
          set.run(CLUSTER_EPOCH_KEY, clusterEpoch);
        })();
      }
    } else if (recorded === undefined) {
      diverged = {
        reason: Divergence.notReplica,
        detail: `the data dir holds a single-node signal log (epoch ${localEpoch}), not a replica of cluster epoch ${clusterEpoch}`,
        localEpoch,
        clusterEpoch,
      };
    } else if (recorded !== clusterEpoch) {
      diverged = {
        reason: Divergence.epoch,
        detail: `replica epoch ${recorded} differs from the cluster epoch ${clusterEpoch}: it was filled from another cluster log`,
        localEpoch: recorded,
        clusterEpoch,
      };
    }
    return new Replica(db, clusterEpoch, diverged);
  }

  /** Highest seq applied (0 for a new replica). */
  get applied(): number {
    return this.store.head;
  }

  get epoch(): string {
    return this.store.epoch;
  }

  /** Why this replica must not be served, or undefined while it is consistent with the cluster. */
  get diverged(): Diverged | undefined {
    return this.divergedState;
  }

  /** Mark the replica diverged (first reason wins: it is the one the operator must read). */
  markDiverged(reason: DivergenceReason, detail: string, seq?: number): Diverged {
    this.divergedState ??= {
      reason,
      detail,
      localEpoch: this.epoch,
      clusterEpoch: this.clusterEpoch,
      ...(seq !== undefined ? { seq } : {}),
    };
    return this.divergedState;
  }

  /**
   * Start-up check against the stream: the head must exist in the cluster (not beyond its last seq), the
   * stored head row must be byte-identical to the cluster's message at that seq (`clusterHeadJson`, fetched
   * by the caller; undefined when the stream no longer holds it), and the stream must still hold head + 1.
   */
  verify(view: ClusterView, clusterHeadJson: string | undefined): Diverged | undefined {
    if (this.divergedState) return this.divergedState;
    const head = this.applied;
    if (head > view.lastSeq)
      return this.markDiverged(
        Divergence.ahead,
        `replica head ${head} is beyond the cluster's last seq ${view.lastSeq} (epoch ${view.epoch}): it holds signals the cluster never had`,
        head,
      );
    if (head === 0) return undefined; // bootstraps from the stream's first seq
    if (head + 1 < view.firstSeq)
      return this.markDiverged(
        Divergence.behind,
        `replica head ${head} is older than the stream's first retained seq ${view.firstSeq} (epoch ${view.epoch}): seqs ${head + 1}..${view.firstSeq - 1} are gone from the cluster`,
        head + 1,
      );
    const local = this.store.getJson(head);
    if (clusterHeadJson !== undefined && local !== undefined && local !== clusterHeadJson)
      return this.markDiverged(
        Divergence.differs,
        `the replica's signal at seq ${head} differs from the cluster's (epoch ${view.epoch})`,
        head,
      );
    return undefined;
  }

  /**
   * A new (empty) replica of a stream whose oldest seq is `firstSeq` > 1: start the head at firstSeq - 1,
   * exactly as a pruned single-node store (seqs below are "trimmed" for resume, never reused).
   */
  startAt(firstSeq: number): void {
    if (this.applied !== 0 || firstSeq <= 1) return;
    this.stmt.setHead.run(String(firstSeq - 1));
    this.store.resyncHead();
  }

  /**
   * Store already-sequenced, already-signed signals verbatim, in one transaction: each must be seq head + 1
   * (ReplicaOrderError otherwise, nothing of the batch kept) and carry this replica's epoch. Returns the
   * stored signals in seq order for the fan-out, which the caller publishes in the same synchronous step.
   */
  applySequenced(jsons: readonly string[]): StoredSignal[] {
    if (this.divergedState) throw new Error(`replica diverged: ${this.divergedState.detail}`);
    if (jsons.length === 0) return [];
    let expect = this.applied + 1;
    const fresh: StoredSignal[] = [];
    for (const json of jsons) {
      const signal = parseSignal(json);
      if (signal.seq !== expect) throw new ReplicaOrderError(expect, signal.seq);
      if (signal.epoch !== this.epoch)
        throw new ReplicaPayloadError(
          `signal ${signal.seq} carries epoch ${signal.epoch}, the replica follows ${this.epoch}`,
        );
      fresh.push({ signal, json });
      expect++;
    }
    // The single-node insert: verbatim bytes, the same columns, seq order re-checked against the stored head
    // inside its transaction; the in-memory head moves only when it commits.
    this.store.insert(fresh);
    return fresh;
  }
}

/** zod at the edge: the stream is the cluster's, but a replica stores nothing it could not serve. */
function parseSignal(json: string): Signal {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ReplicaPayloadError('a log message is not JSON');
  }
  const r = SignalSchema.safeParse(raw);
  if (!r.success)
    throw new ReplicaPayloadError(`a log message is not a signal: ${r.error.issues[0]?.message ?? ''}`);
  // SignalSchema transforms nothing (see shared/signal.ts), so the stored bytes stay the signed bytes.
  return r.data as unknown as Signal;
}
