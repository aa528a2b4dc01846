import { DEFAULTS } from '@catalyst-signal/shared';

/**
 * How much a signal server can make this client hold in memory: the ONE place these bounds live. A server may
 * be compromised or hostile (docs/security.md); what it sends is refused beyond these sizes, never buffered.
 * They are derived from the wire contract (shared/src/signal.ts, frames.ts, rest.ts), with wide headroom so a
 * genuine server never meets them:
 *
 *  - One signal's JSON. Every field of SignalSchema has a bound: headline 500, url 2048, source 100 and epoch
 *    64 UTF-16 units (at worst 6 bytes each as JSON: "\u0001"), source_id 128 printable ASCII (2 bytes each
 *    when escaped), meta <= 4 KiB as JSON (META_LIMITS), keywords 16 x 40, sig 512, and short slugs, numbers
 *    and timestamps (at most 40 characters each). Filled to every limit with the worst escaping that is
 *    ~22.6 KB (the test builds it and checks it against MAX_SIGNAL_BYTES); a real Catalyst-Bot signal is
 *    ~1 KB. 32 KiB leaves room for fields a later server adds (a client keeps unknown fields).
 *  - A WebSocket frame: a signal frame is a signal plus ~30 bytes; hello, subscribed, heartbeat, caught_up,
 *    pong and error frames are under 1 KiB. 1 MiB is 32 x MAX_SIGNAL_BYTES, and the server's own
 *    per-socket send buffer (ws_max_backpressure_bytes) defaults to 1 MiB too. `ws` closes a socket with 1009
 *    on a bigger frame before buffering it (its default would be 100 MiB).
 *  - A REST body: a history page holds at most `limit` signals (the client asks for HISTORY_PAGE_SIZE, the
 *    server's own maximum) plus a small envelope (next_after_seq, head_seq, epoch); a page of 1,000 signals
 *    filled to every limit is ~22 MB, a real one ~1 MB. Other bodies (JWKS, /healthz, problem+json errors)
 *    are a few KiB: REST_MAX_BODY_BYTES bounds them, and is the envelope's headroom of a history page.
 */

/** The largest JSON of one signal the client expects (worst case of the schema ~22.6 KB, see above). */
export const MAX_SIGNAL_BYTES = 32 * 1024;

/** Signals per REST history page the client asks for: the server's maximum (DEFAULTS.historyMaxLimit). */
export const HISTORY_PAGE_SIZE: number = DEFAULTS.historyMaxLimit;

/** Largest WebSocket message accepted from the server (`ws` maxPayload); bigger: the socket is dropped. */
export const WS_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** Largest REST body other than a history page (JWKS, health, error bodies). */
export const REST_MAX_BODY_BYTES = 1024 * 1024;

/** Largest body of a history page of `limit` signals: 1000 -> 33 MiB, 1 (check) -> ~1 MiB. */
export function historyMaxBodyBytes(limit: number): number {
  return REST_MAX_BODY_BYTES + limit * MAX_SIGNAL_BYTES;
}

/** The `ws` error code of a message over maxPayload (the socket is then closed with 1009). */
const WS_TOO_BIG = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/** Whether a `ws` error is a message over WS_MAX_PAYLOAD_BYTES (also after permessage-deflate inflation). */
export function isOversizeFrame(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === WS_TOO_BIG;
}

/** The reason given for such a socket, in words. */
export const OVERSIZE_FRAME = `the server sent a frame over ${WS_MAX_PAYLOAD_BYTES} bytes, refused unread`;
