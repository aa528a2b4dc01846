/** IPC between the orchestrator (run.ts) and load-generator processes (gen/worker.ts). */

/** How a client speaks to a server: our protocol, the ws peers' (same frames, no hello), or Engine.IO v4. */
export type ClientKind = 'catalyst' | 'ws' | 'sio';

export interface ConnectSpec {
  kind: ClientKind;
  port: number;
  count: number;
  /** Global index of this process's first client, to spread source addresses over 127.0.0.x. */
  firstIndex: number;
  /** Bearer token sent on the upgrade (our server); peers ignore it. */
  token?: string;
  /** Every Nth client fully parses and validates each frame. */
  sampleEvery: number;
}

export interface IngestSpec {
  port: number;
  token?: string;
  concurrency: number;
  durationMs: number;
  firstIndex: number;
  tag: string;
}

/** Open loop: POSTs at a fixed offered rate, latency from each one's intended send time (gen/ingest-open.ts). */
export interface OpenIngestSpec {
  port: number;
  token?: string;
  /** Offered POSTs per second, evenly spaced. */
  rate: number;
  durationMs: number;
  /** Keep-alive connections opened before the first POST; one POST in flight on each. */
  connections: number;
  /** POSTs waiting for a free connection, at most; a POST due beyond it is not sent (counted). */
  maxQueue: number;
  /** After the last slot, how long to wait for outstanding answers. */
  drainMs: number;
  firstIndex: number;
  tag: string;
}

export type GenRequest =
  | { op: 'connect'; spec: ConnectSpec }
  | { op: 'window'; fromSeq: number }
  | { op: 'count' }
  | { op: 'report' }
  | { op: 'drop' }
  | { op: 'resume'; headSeq: number; timeoutMs: number }
  | { op: 'ingest'; spec: IngestSpec }
  | { op: 'ingestOpen'; spec: OpenIngestSpec }
  | { op: 'armFailover'; port: number }
  | { op: 'awaitHead'; headSeq: number; timeoutMs: number }
  | { op: 'close' };

export interface ConnectResult {
  connected: number;
  failed: number;
  ms: number;
  firstError?: string;
}

export interface CountResult {
  delivered: number;
  /** Clients whose last seq is at least `headSeq` passed to `resume` (or in total). */
  lastSeqMin: number;
}

/** Everything a process saw since the last `window`. Latencies in microseconds. */
export interface WindowReport {
  clients: number;
  open: number;
  disconnects: number;
  delivered: number;
  dups: number;
  gaps: number;
  otherFrames: number;
  sampledFrames: number;
  invalidFrames: number;
  unrecovered: number;
  errors: string[];
  latency: string;
  fromSeq: number;
  /** Per seq (index = seq - fromSeq): latest arrival (µs, monotonic) and how many clients got it. */
  lastAt: number[];
  countAt: number[];
  cpuUs: number;
  wallUs: number;
}

export interface ResumeResult {
  ms: number;
  caughtUp: number;
  clients: number;
  unrecovered: number;
  recoveredFlag: number;
}

export interface FailoverResult {
  clients: number;
  caughtUp: number;
  /** nowUs() when the last client reached the head (0 if none had to). */
  lastAt: number;
  /** Clients that lost their server and reconnected to the failover port. */
  failovers: number;
  unrecovered: number;
}

export interface IngestResult {
  acks: number;
  duplicates: number;
  non2xx: number;
  errors: number;
  latency: string;
  elapsedMs: number;
  cpuUs: number;
}

/** Counters at zero, filled in by a generator as answers arrive. */
export const emptyIngestResult = (): IngestResult => ({
  acks: 0,
  duplicates: 0,
  non2xx: 0,
  errors: 0,
  latency: '',
  elapsedMs: 0,
  cpuUs: 0,
});

/** `elapsedMs`: from the first slot to the end of the schedule or the last answer, whichever is later. */
export interface OpenIngestResult extends IngestResult {
  offeredPerS: number;
  /** Slots in the schedule (rate × duration). */
  scheduled: number;
  sent: number;
  /** POSTs that found every connection busy at their slot and waited in the local queue. */
  late: number;
  /** Slots never sent: the local queue was full, or the drain ended first. */
  unsent: number;
  /** Sent, not answered by the end of the drain (not in errors). */
  unanswered: number;
  queueMax: number;
  inFlightMax: number;
  /** Connections open at the start. */
  connections: number;
  /** Most any POST went out after its slot (timer granularity plus queue wait), ms. */
  sendLagMaxMs: number;
}

export type GenResponse =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Monotonic microseconds, comparable across processes on one machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1e3);
}
