import { ErrorCode } from '../close-codes.js';
import type { CaughtUpFrame, HeartbeatFrame, HelloFrame, PongFrame, ServerFrameMessage } from '../frames.js';
import { PROTOCOL_VERSION, ServerFrame } from '../protocol.js';

/**
 * Typed writers of the server -> client control frames, shared by every stream that speaks this protocol (the
 * signal server and the client's local dashboard), so a frame's shape and an error's code (ErrorCode only)
 * cannot drift between them; closes take their code and reason from CloseCode. Each returns the JSON text.
 */

export const writeFrame = (f: ServerFrameMessage): string => JSON.stringify(f);

export const helloFrame = (h: Omit<HelloFrame, 'type' | 'protocol'>): string =>
  writeFrame({ type: ServerFrame.hello, protocol: PROTOCOL_VERSION, ...h });

export const caughtUpFrame = (seq: CaughtUpFrame['seq']): string =>
  writeFrame({ type: ServerFrame.caughtUp, seq });

export const heartbeatFrame = (headSeq: HeartbeatFrame['head_seq'], time: number): string =>
  writeFrame({ type: ServerFrame.heartbeat, head_seq: headSeq, time });

export const pongFrame = (id: PongFrame['id'], time: number): string =>
  writeFrame({ type: ServerFrame.pong, ...(id !== undefined ? { id } : {}), time });

/** An `error` frame: the code is one of ErrorCode, nothing else. */
export const errorFrame = (code: ErrorCode, message: string, retryAfterMs?: number): string =>
  writeFrame({
    type: ServerFrame.error,
    code,
    message,
    ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}),
  });

/** The ErrorCode for a frame parseClientFrame refused. */
export const parseErrorCode = (error: string): ErrorCode =>
  error === 'not JSON' ? ErrorCode.badJson : ErrorCode.badFrame;
