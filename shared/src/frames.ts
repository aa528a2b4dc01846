import { z } from 'zod';
import { jsonDeeperThan } from './canonical.js';
import { ClientFrame, ServerFrame, UnrecoverableReason } from './protocol.js';
import {
  ASSET_CLASSES,
  DIRECTIONS,
  KEYWORD_LIMITS,
  SIGNAL_ACTIONS,
  SignalSchema,
  UNKNOWN_FIELD_MAX_DEPTH,
} from './signal.js';
import { StatusFrameSchema, StatusRequestFrameSchema } from './status.js';

const seq = z.int().min(0);
/** A SHA-256 hash in standard base64, as in C2SP tlog-proof files. */
const hash64 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'a base64 SHA-256 hash');
/** RFC 9162 proofs are at most 63 hashes for any tree of < 2^63 leaves. */
const proofHashes = z.array(hash64).max(63);

/**
 * Server-side filters a subscriber may ask for; a signal passes when it passes every filter given. Filtered
 * streams are not contiguous in seq. A signal without the field a filter looks at does not pass it.
 */
export const FiltersSchema = z.strictObject({
  symbols: z.array(z.string().min(1).max(32)).min(1).max(200).optional(),
  catalysts: z.array(z.string().min(1).max(40)).min(1).max(50).optional(),
  directions: z.array(z.enum(DIRECTIONS)).min(1).max(3).optional(),
  min_confidence: z.number().min(0).max(1).optional(),
  /** By effectiveAction, so v1 signals (no `action`) filter as enter (long/short) or info (neutral). */
  actions: z.array(z.enum(SIGNAL_ACTIONS)).min(1).max(SIGNAL_ACTIONS.length).optional(),
  asset_classes: z.array(z.enum(ASSET_CLASSES)).min(1).max(ASSET_CLASSES.length).optional(),
  /** Any of: the signal's keywords must contain at least one of these. */
  keywords: z.array(z.string().min(1).max(KEYWORD_LIMITS.maxLength)).min(1).max(50).optional(),
  /** A signal without `sentiment` does not pass. */
  min_sentiment: z.number().min(-1).max(1).optional(),
});
export type Filters = z.infer<typeof FiltersSchema>;

// ---- client -> server ----

export const AuthFrameSchema = z.strictObject({
  type: z.literal(ClientFrame.auth),
  token: z.string().min(1).max(4096),
});

export const SubscribeFrameSchema = z.strictObject({
  type: z.literal(ClientFrame.subscribe),
  /** Last seq the client has applied; 0 = everything retained; omitted = live only, from the head. */
  from_seq: seq.optional(),
  /** The epoch from_seq belongs to; a different epoch is refused (recovered: false). */
  epoch: z.string().min(1).max(64).optional(),
  filters: FiltersSchema.optional(),
  /**
   * Ask for `checkpoint` frames (only when `hello.log` is present: an older server refuses the field).
   * `from_size`: the size of the last checkpoint this client verified; the first frame then carries a
   * consistency proof from it.
   */
  checkpoints: z.strictObject({ from_size: seq.optional() }).optional(),
});
export type SubscribeFrame = z.infer<typeof SubscribeFrameSchema>;

export const PingFrameSchema = z.strictObject({
  type: z.literal(ClientFrame.ping),
  id: z.union([z.string().max(64), z.number()]).optional(),
});

/** Longest cosignature line accepted: a key name plus 104 base64 characters leaves room for a long URL name. */
export const MAX_COSIGNATURE_LINE = 512;

/** A witness cosigned the checkpoint of `size` (its note text as the server signed it; C2SP tlog-cosignature/v1). */
export const CosignFrameSchema = z.strictObject({
  type: z.literal(ClientFrame.cosign),
  size: seq,
  /** One signed-note signature line, `— <witness name> <base64(key ID ‖ timestamp ‖ signature)>`. */
  cosignature: z.string().min(1).max(MAX_COSIGNATURE_LINE),
});
export type CosignFrame = z.infer<typeof CosignFrameSchema>;

export const ClientFrameSchema = z.discriminatedUnion('type', [
  AuthFrameSchema,
  SubscribeFrameSchema,
  PingFrameSchema,
  StatusRequestFrameSchema,
  CosignFrameSchema,
]);
export type ClientFrameMessage = z.infer<typeof ClientFrameSchema>;

// ---- server -> client ----

export const LimitsSchema = z.object({
  max_frame_bytes: z.int(),
  frames_per_second: z.number(),
  max_replay: z.int(),
  max_backpressure_bytes: z.int(),
});

export const HelloFrameSchema = z.object({
  type: z.literal(ServerFrame.hello),
  protocol: z.int(),
  server_id: z.string(),
  epoch: z.string(),
  head_seq: seq,
  heartbeat_ms: z.int(),
  /** False when the socket opened without credentials and must send `auth` within auth_deadline_ms. */
  authenticated: z.boolean(),
  auth_deadline_ms: z.int().optional(),
  limits: LimitsSchema,
  /** Server clock (ms since epoch) when the frame was written; lets a client estimate skew. */
  time: z.number(),
  /** Present when the server serves the transparency log (and so `checkpoint` frames). */
  log: z
    .object({
      /** Checkpoint origin line and key name. */
      origin: z.string(),
      /** C2SP verifier key of the checkpoint signer: `<name>+<hex id>+<base64 key>`. */
      vkey: z.string(),
      /** At most one checkpoint per this many ms. */
      checkpoint_interval_ms: z.int(),
      /** Whether new signals carry a per-signal `sig` (the operator may turn it off; docs/protocol.md). */
      signal_sigs: z.boolean(),
      /** Most inclusion proofs in one `checkpoint` frame. */
      max_proofs: z.int(),
    })
    .optional(),
});
export type HelloFrame = z.infer<typeof HelloFrameSchema>;

export const SubscribedFrameSchema = z.object({
  type: z.literal(ServerFrame.subscribed),
  epoch: z.string(),
  /** The seq after which the stream starts (the resolved from_seq). */
  from_seq: seq,
  head_seq: seq,
  /** Oldest seq still stored (head_seq + 1 when nothing is retained). */
  first_seq: seq,
  /** How many signals will be replayed before live ones (before filtering). */
  replay_count: seq,
  /** False: the position cannot be honoured without a gap; nothing is streamed until the next subscribe. */
  recovered: z.boolean(),
  reason: z
    .enum(Object.values(UnrecoverableReason) as [UnrecoverableReason, ...UnrecoverableReason[]])
    .optional(),
  filtered: z.boolean(),
});
export type SubscribedFrame = z.infer<typeof SubscribedFrameSchema>;

export const SignalFrameSchema = z.object({
  type: z.literal(ServerFrame.signal),
  signal: SignalSchema,
});
export type SignalFrame = z.infer<typeof SignalFrameSchema>;

export const CaughtUpFrameSchema = z.object({
  type: z.literal(ServerFrame.caughtUp),
  seq,
});
export type CaughtUpFrame = z.infer<typeof CaughtUpFrameSchema>;

export const HeartbeatFrameSchema = z.object({
  type: z.literal(ServerFrame.heartbeat),
  head_seq: seq,
  time: z.number(),
});
export type HeartbeatFrame = z.infer<typeof HeartbeatFrameSchema>;

export const PongFrameSchema = z.object({
  type: z.literal(ServerFrame.pong),
  id: z.union([z.string(), z.number()]).optional(),
  time: z.number(),
});
export type PongFrame = z.infer<typeof PongFrameSchema>;

export const ErrorFrameSchema = z.object({
  type: z.literal(ServerFrame.error),
  code: z.string(),
  message: z.string(),
  retry_after_ms: z.number().optional(),
});
export type ErrorFrame = z.infer<typeof ErrorFrameSchema>;

/** One leaf's inclusion proof (RFC 9162 audit path, the leaf's sibling first) against the frame's checkpoint. */
export const InclusionProofSchema = z.object({
  /** 0-based leaf index = the signal's seq - 1. */
  index: seq,
  hashes: proofHashes,
});
export type InclusionProof = z.infer<typeof InclusionProofSchema>;

/**
 * A new signed checkpoint, on sockets that asked (`subscribe.checkpoints`). Leaf i is the signal with seq
 * i + 1, its bytes exactly as served. `proofs` covers the leaves new since the previous checkpoint frame on
 * this socket (or, for the first frame after a subscribe, the signals replayed to it), at most
 * `hello.log.max_proofs`, lowest index first: a leaf this checkpoint covers (index < size) that the client
 * received and finds no proof for here is proven from `GET /v1/log/proof/<seq>` or the tiles.
 */
export const CheckpointFrameSchema = z.object({
  type: z.literal(ServerFrame.checkpoint),
  /** The C2SP tlog-checkpoint as a C2SP signed-note, exactly as signed (verify with `hello.log.vkey`). */
  checkpoint: z.string().max(16_384),
  /**
   * From the previous checkpoint frame on this socket, or from `subscribe.checkpoints.from_size` for the
   * first: absent when there is none, or when that size is beyond this checkpoint's (wait for the next).
   */
  consistency: z.object({ from_size: seq, hashes: proofHashes }).optional(),
  proofs: z.array(InclusionProofSchema).max(1024),
});
export type CheckpointFrame = z.infer<typeof CheckpointFrameSchema>;

export const ServerFrameSchema = z.discriminatedUnion('type', [
  HelloFrameSchema,
  SubscribedFrameSchema,
  SignalFrameSchema,
  CaughtUpFrameSchema,
  HeartbeatFrameSchema,
  PongFrameSchema,
  ErrorFrameSchema,
  StatusFrameSchema,
  CheckpointFrameSchema,
]);
export type ServerFrameMessage = z.infer<typeof ServerFrameSchema>;

/** Deepest frame parseFrame accepts: frame > signal > an unknown field (UNKNOWN_FIELD_MAX_DEPTH) or meta. */
export const MAX_FRAME_DEPTH = 2 + UNKNOWN_FIELD_MAX_DEPTH;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parse JSON text with a schema, refusing nesting deeper than maxDepth first. Never throws. */
export function parseWith<T>(
  schema: z.ZodType<T>,
  text: string,
  maxDepth: number = MAX_FRAME_DEPTH,
): ParseResult<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  // Deeper than any valid frame (signal > meta > META_LIMITS.maxDepth): refused before zod, whose z.json()
  // recurses and would throw a RangeError on hostile nesting instead of answering.
  if (jsonDeeperThan(raw, maxDepth)) return { ok: false, error: `nested deeper than ${maxDepth}` };
  const r = schema.safeParse(raw);
  if (!r.success) return { ok: false, error: z.prettifyError(r.error) };
  return { ok: true, value: r.data };
}

/** Parse a frame a client sent. Never throws. */
export function parseClientFrame(text: string): ParseResult<ClientFrameMessage> {
  return parseWith(ClientFrameSchema, text);
}

/** Parse a frame a server sent. Never throws. */
export function parseServerFrame(text: string): ParseResult<ServerFrameMessage> {
  return parseWith(ServerFrameSchema, text);
}
