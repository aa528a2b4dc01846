import { z } from 'zod';
import { jsonDeeperThan } from '../canonical.js';
import {
  CaughtUpFrameSchema,
  ErrorFrameSchema,
  HeartbeatFrameSchema,
  HelloFrameSchema,
  MAX_FRAME_DEPTH,
  PongFrameSchema,
  SignalFrameSchema,
  SubscribedFrameSchema,
  type CaughtUpFrame,
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
  HelloFrame | SubscribedFrame | CaughtUpFrame | HeartbeatFrame | PongFrame | ErrorFrame;
export interface ItemFrame<T> {
  type: 'item';
  /** Gapless position in the epoch's log: the core applies seq n+1 only after n. */
  seq: number;
  epoch: string;
  item: T;
}
export type DecodedFrame<T> = ControlFrame | ItemFrame<T>;

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
      if (!r.success) return { ok: false, error: z.prettifyError(r.error) };
      return { ok: true, value: { type: 'item', ...o.toItem(r.data) } };
    },
  };
}

/** The signal protocol: `signal` frames carry a signed Signal with its own seq and epoch. */
export const signalCodec: StreamCodec<Signal> = frameCodec({
  itemSchema: SignalFrameSchema,
  toItem: (f) => ({ seq: f.signal.seq, epoch: f.signal.epoch, item: f.signal }),
});
