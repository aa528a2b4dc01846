/**
 * Wire protocol version, sent in `hello`. Bumped when a deployed client could misread what the server now
 * sends: 2 added signal actions (a v2 signal may lack `direction`, which a v1 client requires). Additive
 * fields alone do not bump it: clients tolerate unknown fields (docs/protocol.md).
 */
export const PROTOCOL_VERSION = 2;

/**
 * What `hello` says when the operator turned per-signal signatures off (`log.signal_signatures: false`): a
 * signal then has no `sig` and is proven by the transparency log only, which a protocol-2 client would refuse
 * signal by signal (it requires `sig`). A client accepts 3 only if it verifies the log (docs/protocol.md).
 */
export const PROTOCOL_VERSION_UNSIGNED_SIGNALS = 3;

/** Server protocol versions this client understands: a v1 server only ever sends v1 signals, a subset of v2. */
export const SUPPORTED_PROTOCOLS: readonly number[] = [1, 2];

/**
 * What a reader that does not rely on per-signal signatures understands: a client that proves every signal in
 * the transparency log (log.verify on/auto), and the operator's status page (it shows, never trades).
 */
export const SUPPORTED_PROTOCOLS_WITH_LOG: readonly number[] = [
  ...SUPPORTED_PROTOCOLS,
  PROTOCOL_VERSION_UNSIGNED_SIGNALS,
];

/** URL paths of the server. One port serves REST and the WebSocket stream. */
export const PATHS = {
  signals: '/v1/signals',
  stream: '/v1/stream',
  signingKeys: '/v1/keys/signing',
  keys: '/v1/admin/keys',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  /** The operator's status page (static; its data comes over the stream, admin only). */
  status: '/status',
  /** The transparency log's latest signed checkpoint (C2SP tlog-checkpoint; docs/transparency-log.md). */
  logCheckpoint: '/v1/log/checkpoint',
  /** `/v1/log/proof/<seq>`: one signal's C2SP tlog-proof file. */
  logProof: '/v1/log/proof',
  /** C2SP tlog-tiles: `/v1/log/tile/<L>/<N>[.p/<W>]` (hash tiles) and `/v1/log/tile/entries/<N>[.p/<W>]`. */
  logTile: '/v1/log/tile',
  /** `/v1/log/consistency?from=<m>&to=<n>`: RFC 6962 consistency proof hashes, base64, one a line. */
  logConsistency: '/v1/log/consistency',
  /** Outcomes of signals, aggregated, and each signal's story (derived figures only; docs/outcomes.md). */
  trackRecord: '/v1/track-record',
  /** The track-record page (static; its data comes from trackRecord with a read key). */
  trackRecordPage: '/track-record',
} as const;

/** Frame types sent by the server. */
export const ServerFrame = {
  /** First frame after the socket opens: version, epoch, head, heartbeat, limits. */
  hello: 'hello',
  /** Answer to `subscribe`: where the stream starts and whether the position was recoverable. */
  subscribed: 'subscribed',
  /** One stored signal. */
  signal: 'signal',
  /** Replay has reached the head; what follows is live. */
  caughtUp: 'caught_up',
  /** Sent every heartbeat interval with the current head, so silence and gaps are detectable. */
  heartbeat: 'heartbeat',
  /** Answer to a client `ping`. */
  pong: 'pong',
  /** Something the client sent was refused; the socket stays open unless a close follows. */
  error: 'error',
  /** Admin only, after a `status` request: the server's live status (shared/src/status.ts), about once a second. */
  status: 'status',
  /**
   * After each new signed checkpoint, to sockets that asked (`subscribe.checkpoints`): the signed note, a
   * consistency proof from the previous one and inclusion proofs for the leaves new since it (docs/protocol.md).
   */
  checkpoint: 'checkpoint',
} as const;
export type ServerFrameType = (typeof ServerFrame)[keyof typeof ServerFrame];

/** Frame types sent by the client. */
export const ClientFrame = {
  /** Authenticate in-band (browsers cannot set headers); must be the first frame, within the auth deadline. */
  auth: 'auth',
  /** Start (or move) the stream: from_seq, optional epoch and filters. */
  subscribe: 'subscribe',
  /** Round-trip probe; the server answers `pong` with its clock. */
  ping: 'ping',
  /** Admin only: push `status` frames on this socket until it closes (others get error `forbidden`). */
  status: 'status',
  /**
   * A witness's C2SP tlog-cosignature of a checkpoint it verified (only to a server whose hello has `log`): the
   * server keeps those from witnesses it is configured with and serves them on the checkpoint (docs/protocol.md).
   */
  cosign: 'cosign',
} as const;
export type ClientFrameType = (typeof ClientFrame)[keyof typeof ClientFrame];

/** Why a `subscribe` could not be honoured without a gap (`subscribed.recovered === false`). */
export const UnrecoverableReason = {
  /** from_seq is older than the oldest retained signal: history was pruned. */
  trimmed: 'trimmed',
  /** from_seq is beyond the head: the client knows of signals this store never had. */
  future: 'future',
  /** The client's epoch is not this store's: the database was replaced. */
  epochMismatch: 'epoch_mismatch',
  /** More signals were missed than the server replays over the socket; page through REST. */
  tooFarBehind: 'too_far_behind',
} as const;
export type UnrecoverableReason = (typeof UnrecoverableReason)[keyof typeof UnrecoverableReason];

/** Scopes an API key or JWT can hold. */
export const Scope = {
  read: 'read',
  publish: 'publish',
  admin: 'admin',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
export const SCOPES = Object.values(Scope) as [Scope, ...Scope[]];

/** Subprotocol name used for browser authentication: `Sec-WebSocket-Protocol: catalyst.v1, bearer.<token>`. */
export const WS_SUBPROTOCOL = 'catalyst.v1';
export const WS_BEARER_PROTOCOL_PREFIX = 'bearer.';

/** Prefix of every API key; anything else in a Bearer header is treated as a JWT. */
export const API_KEY_PREFIX = 'cat_';

/** Defaults shared by both sides (the server's config may change them; `hello.limits` carries the values in force). */
export const DEFAULTS = {
  heartbeatMs: 15_000,
  authDeadlineMs: 5_000,
  maxInboundFrameBytes: 16 * 1024,
  historyLimit: 100,
  historyMaxLimit: 1000,
  maxBatch: 500,
  maxSingleBodyBytes: 64 * 1024,
  maxBatchBodyBytes: 1024 * 1024,
  /** Most inclusion proofs one `checkpoint` frame carries; a client proves any other leaf from tiles or REST. */
  maxCheckpointProofs: 64,
} as const;
