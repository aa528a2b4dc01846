/**
 * The signal-log seam: what ws/ and http/ need from a log, whatever stores it (SQLite in one process, or
 * NATS JetStream in cluster mode). No SQLite, no uWS, no NATS here: drivers implement these, app.ts wires
 * them. docs/architecture.md says what each driver guarantees for the replay -> live proof.
 */
import type {
  Classification,
  HistoryQuery,
  IngestResult,
  Scope,
  Signal,
  SignalAction,
  StatusReplica,
} from '@catalyst-signal/shared';
import type { OutcomeClusterLink } from '../roles/outcome-holder.js';
import type { ServedLog } from './served.js';
import type { WitnessBook } from './witnesses.js';

/** A signal as stored: the parsed object and its JSON text (serialised once, at ingest). */
export interface StoredSignal {
  signal: Signal;
  json: string;
}

/** A stored row with the columns server-side filters look at (ws/filters.ts Filterable). */
export interface FilterableRow {
  seq: number;
  symbol: string;
  catalyst: string;
  /** '' when the signal has no direction. */
  direction: string;
  confidence: number;
  /** The effective action (effectiveAction), also for v1 rows. */
  action: SignalAction;
  asset_class: string | null;
  sentiment: number | null;
  keywords: string[] | null;
  body: string;
}

/** One page of a history query: the stored bodies (ascending seq) and the last seq examined. */
export interface HistoryPage {
  bodies: string[];
  lastSeq: number;
}

/**
 * Turns an unsigned signal into its signature (detached JWS), or undefined when the operator turned
 * per-signal signatures off (`log.signal_signatures`; log/leaf.ts signalSigner). Injected so logs have no crypto.
 */
export type SignFn = (unsigned: Omit<Signal, 'sig'>) => string | undefined;

/** Where a log stands. Every node knows this (healthz, the POST answer, the WS hello). */
export interface LogPosition {
  /** Random id of this log; a client that sees another one holds history from a different log. */
  readonly epoch: string;
  /** Highest seq this node knows to be assigned (0 for a new log). Never goes down. */
  readonly head: number;
}

/**
 * The read side, all synchronous (replay's go-live step must not yield between "read to the head" and
 * "subscribe"). `head` must only move in the same synchronous step that makes the rows readable AND hands
 * them to the FanOut (see SignalLogDriver.attach).
 */
export interface SignalLogReader extends LogPosition {
  /** Oldest seq still stored; head + 1 when nothing is retained. */
  firstSeq(): number;
  /** Up to `limit` rows with seq > afterSeq, ascending (replay pages; filters run on the columns). */
  rowsAfter(afterSeq: number, limit: number): FilterableRow[];
  /** History query: filters applied, ascending by seq. */
  history(q: HistoryQuery): HistoryPage;
  /** One stored signal's JSON, or undefined when that seq is not (or no longer) stored. */
  getJson(seq: number): string | undefined;
}

/**
 * The write side: what POST /v1/signals calls. Asynchronous because acknowledging may wait on a cluster.
 * Resolves (one result per item, input order) only once every fresh item is durable as the driver defines
 * it; rejects with StoreUnavailableError (errors.ts) when the caller should retry later (503).
 */
export interface Sequencer extends LogPosition {
  submit(items: Classification[]): Promise<IngestResult[]>;
  /** Resolves when everything submitted so far has been answered (for shutdown). */
  drained(): Promise<void>;
}

/** Key management held elsewhere than the node's key table; each call returns once the change is authoritative. */
export interface KeyAdmin {
  create(name: string, scopes: Scope[]): Promise<{ id: string; key: string }>;
  /** False when there is no such active key. */
  revoke(id: string): Promise<boolean>;
}

/** Receives freshly stored signals, in seq order, with no gap from the previous call. Implemented by ws/. */
export interface FanOut {
  publish(fresh: readonly StoredSignal[]): void;
}

/**
 * One signal log as a server is assembled from it (app.ts). A node serves WebSocket and REST history only
 * with a `reader`, and takes POSTs only with a `sequencer`; so an ingest-only node (sequencer, no reader)
 * and a gateway (reader, no sequencer) are both expressible.
 */
export interface SignalLogDriver {
  /** For logs and healthz: 'sqlite', 'jetstream', ... */
  readonly kind: string;
  readonly reader: SignalLogReader | undefined;
  readonly sequencer: Sequencer | undefined;
  /**
   * From now on, hand every signal that becomes readable through `reader` to `fanOut`, in seq order, in the
   * same synchronous step that makes it readable and moves `reader.head`. Called once, before the server
   * listens, by a node that has a reader. A throw from `fanOut` must not undo or un-acknowledge anything.
   */
  attach(fanOut: FanOut): void;
  /** Why this node cannot take traffic now (readyz answers 503 with it), or undefined when it can. */
  notReady(): string | undefined;
  /**
   * Why WebSocket clients are turned away now (upgrade answered 503 with this detail), or undefined to serve.
   * Absent = always serve. A cluster gateway refuses while its replica is diverged or still bootstrapping.
   */
  refuseClients?(): string | undefined;
  /** Extra /healthz fields about this log (a gateway's replica lag), merged into the answer. */
  health?(): Record<string, unknown>;
  /** A replica of a cluster log (gateway, both-node): what it applied against the log's head, for /status. */
  statusReplica?(): StatusReplica;
  /**
   * The public keys clients verify signatures with, when they are not this node's own (a gateway serves the
   * cluster's: it holds no signing key). undefined = not known yet (503). Absent = the node's signer's.
   */
  jwks?(): { keys: object[] } | undefined;
  /**
   * A cluster node's link for outcomes (docs/outcomes.md "Cluster mode"): it mirrors what the lease holder
   * publishes and, when `mayCompute`, contends to compute. Absent: a single node computes its own.
   */
  readonly outcomeCluster?: OutcomeClusterLink;
  /**
   * A log that trails the cluster (a gateway replica): a WebSocket subscribe from a seq beyond `reader.head`
   * waits up to this many ms for the head to get there rather than being answered `future`. Absent: no wait.
   */
  readonly aheadWaitMs?: number;
  /**
   * With aheadWaitMs: the newest seq of the whole log, read fresh from where it is decided (a gateway asks the
   * stream leader). A subscribe beyond it is beyond every node, so it is answered `future` at once, as on a
   * single node, instead of waiting and then being sent to another gateway that would say the same. Rejects
   * when that source does not answer: the subscribe then keeps waiting.
   */
  logHead?(): Promise<number>;
  /**
   * Where the admin API creates and revokes keys when this node's key table only mirrors them (cluster
   * mode: the cluster's keys bucket). Absent: the node's own key table.
   */
  readonly keyAdmin?: KeyAdmin;
  /**
   * The transparency log's signed checkpoints and proofs (GET /v1/log/...): signed here (single node) or
   * mirrored from the cluster's lease holder (docs/transparency-log.md). Absent: this node serves none.
   */
  readonly transparency?: ServedLog;
  /** Witness cosignatures (the stream's `cosign` frames); absent: no witnesses configured, or not this driver. */
  readonly witnesses?: WitnessBook;
  /** Stop taking work and finish what is in flight (answer every submitted request). Safe to call twice. */
  close(): Promise<void>;
}
