import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { NatsHandle } from './connection.js';

/** Where the cluster log stands, from the stream leader. */
export interface StreamView {
  /** Oldest seq the stream holds (last + 1 when empty). */
  firstSeq: number;
  /** Newest seq (0 for a new stream). */
  lastSeq: number;
}

export async function streamView(h: NatsHandle, stream: string): Promise<StreamView> {
  const { state } = await h.jsm.streams.info(stream);
  return { firstSeq: state.messages === 0 ? state.last_seq + 1 : state.first_seq, lastSeq: state.last_seq };
}

/**
 * The payload stored at `seq`, or undefined when the stream does not hold it. Asked of the stream leader
 * (not a direct get, which any replica answers and which can miss a message just written: notes §4).
 */
export async function messageAt(h: NatsHandle, stream: string, seq: number): Promise<string | undefined> {
  try {
    const m = await h.jsm.streams.getMessage(stream, { seq });
    return m ? m.string() : undefined;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return undefined;
    throw err;
  }
}
