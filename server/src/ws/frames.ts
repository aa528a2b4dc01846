/**
 * Every frame the server writes on the stream, in one typed place: each writer takes exactly the fields of
 * its shared/src/frames.ts type, so the wire contract and what the server sends cannot drift apart.
 * `signal` is spliced from the stored bytes (never re-serialised): those bytes are the transparency log's
 * leaf, and a client hashes them as received.
 */
import {
  ServerFrame,
  caughtUpFrame,
  errorFrame,
  heartbeatFrame,
  pongFrame,
  toBase64,
  type CheckpointFrame,
  type HelloFrame,
  type SubscribedFrame,
} from '@catalyst-signal/shared';

type Fields<F> = Omit<F, 'type'>;

const write = <F extends { type: string }>(f: F): string => JSON.stringify(f);

export const writeFrame = {
  /** A stored signal: its stored JSON, exactly as stored (the leaf bytes), inside the frame. */
  signal: (storedJson: string): string => `{"type":"${ServerFrame.signal}","signal":${storedJson}}`,
  hello: (f: Fields<HelloFrame>): string => write<HelloFrame>({ type: ServerFrame.hello, ...f }),
  subscribed: (f: Fields<SubscribedFrame>): string =>
    write<SubscribedFrame>({ type: ServerFrame.subscribed, ...f }),
  // The control frames every stream of this protocol writes come from shared/ (the dashboard feed uses them too).
  caughtUp: caughtUpFrame,
  heartbeat: heartbeatFrame,
  pong: pongFrame,
  /** The code is one of ErrorCode, nothing else (the catalogue both ends share). */
  error: errorFrame,
  /** A signed checkpoint with its proofs (hashes as raw bytes; written as base64 like a tlog-proof file). */
  checkpoint: (f: {
    note: string;
    consistency?: { fromSize: number; hashes: Uint8Array[] } | undefined;
    proofs: { index: number; hashes: Uint8Array[] }[];
  }): string =>
    write<CheckpointFrame>({
      type: ServerFrame.checkpoint,
      checkpoint: f.note,
      ...(f.consistency
        ? { consistency: { from_size: f.consistency.fromSize, hashes: f.consistency.hashes.map(toBase64) } }
        : {}),
      proofs: f.proofs.map((p) => ({ index: p.index, hashes: p.hashes.map(toBase64) })),
    }),
};
