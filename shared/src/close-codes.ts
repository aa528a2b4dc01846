/**
 * WebSocket close codes the server uses. Reasons are snake_case identifiers (like ErrorCode), so they can be
 * matched and used as metric labels as they are. 1000-1015 are RFC 6455; 4000-4999 are this protocol's own.
 * A client should resume from its last applied seq after any of them except the auth ones.
 */
export const CloseCode = {
  /** Normal closure (the client asked). */
  normal: { code: 1000, reason: 'normal' },
  /** Server shutting down or restarting: reconnect with backoff and resume. */
  goingAway: { code: 1001, reason: 'going_away' },
  /** A frame bigger than the inbound limit. */
  tooBig: { code: 1009, reason: 'frame_too_big' },
  /** No valid `auth` frame within the deadline. Do not retry without credentials. */
  unauthenticated: { code: 4001, reason: 'unauthenticated' },
  /** The key was revoked while connected. Do not retry with it. */
  revoked: { code: 4003, reason: 'key_revoked' },
  /** The JWT expired while connected: reconnect with a fresh token. */
  tokenExpired: { code: 4004, reason: 'token_expired' },
  /** Too many frames per second, sustained after an error frame. */
  rateLimited: { code: 4008, reason: 'rate_limited' },
  /** The client did not read fast enough; its buffer hit the limit. Resume from the last applied seq. */
  slowConsumer: { code: 4009, reason: 'slow_consumer' },
  /** Maximum connection lifetime reached: reconnect and resume (keeps the resume path exercised). */
  maxLifetime: { code: 4010, reason: 'max_lifetime' },
  /** The key already holds its maximum number of concurrent sockets. */
  tooManyConnections: { code: 4011, reason: 'too_many_connections' },
  /** Repeated protocol violations (malformed or unknown frames). */
  protocolError: { code: 4400, reason: 'protocol_error' },
} as const;
export type CloseCodeName = keyof typeof CloseCode;

/** Close codes after which reconnecting with the same credentials is pointless. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.unauthenticated.code,
  CloseCode.revoked.code,
]);

/** Stable error codes, used in WebSocket `error` frames and in problem+json `code` members. */
export const ErrorCode = {
  badJson: 'bad_json',
  badFrame: 'bad_frame',
  unknownType: 'unknown_type',
  binaryFrame: 'binary_frame',
  rateLimited: 'rate_limited',
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  /** The request conflicts with the current state (e.g. revoking the last admin key). */
  conflict: 'conflict',
  validation: 'validation_failed',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  unavailable: 'unavailable',
  internal: 'internal',
  alreadyAuthenticated: 'already_authenticated',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
