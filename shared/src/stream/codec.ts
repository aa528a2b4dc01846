import { z } from 'zod';
import { jsonDeeperThan } from '../canonical.js';
import {
  CaughtUpFrameSchema,
  CheckpointFrameSchema,
  ErrorFrameSchema,
  HeartbeatFrameSchema,
  HelloFrameSchema,
  MAX_FRAME_DEPTH,
  PongFrameSchema,
  SignalFrameSchema,
  SubscribedFrameSchema,
  type CaughtUpFrame,
  type CheckpointFrame,
  type ErrorFrame,
  type HeartbeatFrame,
  type HelloFrame,
  type ParseResult,
  type PongFrame,
  type SubscribedFrame,
} from '../frames.js';
import type { Signal } from '../signal.js';

/**
 * What the stream core needs from a frame: the control frames of the protocol (hello, subscribed, caught_up,
 * heartbeat, pong, error) as they are, and item frames reduced to { seq, epoch, item }. The signal protocol
 * is the default; another stream (a dashboard's own feed) passes its own zod schema for the item frames and
 * keeps the same resume logic.
 */
export type ControlFrame =
  HelloFrame | SubscribedFrame | CaughtUpFrame | HeartbeatFrame | PongFrame | ErrorFrame | CheckpointFrame;
export interface ItemFrame<T> {
  type: 'item';
  /** Gapless position in the epoch's log: the core applies seq n+1 only after n. */
  seq: number;
  epoch: string;
  item: T;
}
/**
 * An item frame that names its place (seq, epoch) and claims to be a signed item, but is not valid (a signed
 * signal whose `meta` is over its bound): the server's log holds it as it is, so asking again brings the same
 * frame. The core refuses it by seq, like an item whose signature does not verify, instead of stalling on it.
 */
export interface InvalidItemFrame {
  type: 'invalid_item';
  seq: number;
  epoch: string;
  error: string;
}
export type DecodedFrame<T> = ControlFrame | ItemFrame<T> | InvalidItemFrame;

export interface StreamCodec<T> {
  /** Never throws: an invalid frame is an { ok: false } the core logs and ignores. */
  decode(text: string): ParseResult<DecodedFrame<T>>;
}

const ControlFrameSchema = z.discriminatedUnion('type', [
  HelloFrameSchema,
  SubscribedFrameSchema,
  CaughtUpFrameSchema,
  HeartbeatFrameSchema,
  PongFrameSchema,
  ErrorFrameSchema,
  // Transparency-log checkpoints (only on sockets that asked: subscribe.checkpoints).
  CheckpointFrameSchema,
]);
const CONTROL_TYPES: ReadonlySet<unknown> = new Set(
  ControlFrameSchema.options.map((o) => o.shape.type.value),
);

/**
 * A codec from a zod schema for the item frames (anything whose `type` is not a control frame's) and a
 * function that says where seq and epoch are. Frames nested deeper than maxDepth are refused before zod.
 */
export function frameCodec<F, T>(o: {
  itemSchema: z.ZodType<F>;
  toItem(frame: F): { seq: number; epoch: string; item: T };
  /** Where an INVALID item frame claims to be, if it is a signed item at all (else it is just garbage). */
  locateInvalid?(raw: unknown): { seq: number; epoch: string } | undefined;
  maxDepth?: number;
}): StreamCodec<T> {
  const maxDepth = o.maxDepth ?? MAX_FRAME_DEPTH;
  return {
    decode(text) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return { ok: false, error: 'not JSON' };
      }
      if (jsonDeeperThan(raw, maxDepth)) return { ok: false, error: `nested deeper than ${maxDepth}` };
      const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
      if (CONTROL_TYPES.has(type)) {
        const r = ControlFrameSchema.safeParse(raw);
        return r.success ? { ok: true, value: r.data } : { ok: false, error: z.prettifyError(r.error) };
      }
      const r = o.itemSchema.safeParse(raw);
      if (!r.success) {
        const error = z.prettifyError(r.error);
        const at = o.locateInvalid?.(raw);
        return at ? { ok: true, value: { type: 'invalid_item', ...at, error } } : { ok: false, error };
      }
      return { ok: true, value: { type: 'item', ...o.toItem(r.data) } };
    },
  };
}

/** The signal protocol: `signal` frames carry a signed Signal with its own seq and epoch. */
export const signalCodec: StreamCodec<Signal> = frameCodec({
  itemSchema: SignalFrameSchema,
  toItem: (f) => ({ seq: f.signal.seq, epoch: f.signal.epoch, item: f.signal }),
  // A signal frame with a well-formed seq, epoch and signature: the server signed what it serves. A frame
  // without them is noise (a truncated copy, garbage) and is ignored as before; a gap then re-asks for it.
  locateInvalid: (raw) => {
    const s = (raw as { type?: unknown; signal?: unknown }).signal as
      { seq?: unknown; epoch?: unknown; sig?: unknown } | null | undefined;
    if ((raw as { type?: unknown }).type !== 'signal' || typeof s !== 'object' || s === null)
      return undefined;
    const ok =
      Number.isSafeInteger(s.seq) &&
      (s.seq as number) >= 1 &&
      typeof s.epoch === 'string' &&
      s.epoch.length >= 1 &&
      s.epoch.length <= 64 &&
      typeof s.sig === 'string' &&
      s.sig.length > 0;
    return ok ? { seq: s.seq as number, epoch: s.epoch as string } : undefined;
  },
});
