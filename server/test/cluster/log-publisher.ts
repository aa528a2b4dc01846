import type { NatsHandle } from '../../src/jetstream/connection.js';
import { CLUSTER_NAMES, subjectFor } from '../../src/jetstream/cluster-log.js';

/**
 * Puts signals into the cluster stream the way the ingest sequencer does: payload = the stored signal JSON
 * exactly as signed, subject per source_id, msgID = source_id, and `expect.lastSequence = seq - 1` so the
 * stream seq is the signal's seq (the stream refuses anything else). Up to `window` publishes in flight.
 */
export async function publishToLog(h: NatsHandle, jsons: readonly string[], window = 256): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jsons.length) {
      const json = jsons[next++]!;
      const { seq, source_id } = JSON.parse(json) as { seq: number; source_id: string };
      const ack = await h.js.publish(subjectFor(source_id), json, {
        msgID: source_id,
        expect: { lastSequence: seq - 1 },
      });
      if (ack.seq !== seq) throw new Error(`stream stored seq ${seq} at ${ack.seq}`);
    }
  };
  // Publishes on one connection reach the leader in order, so pipelining keeps the expectations true.
  await Promise.all(Array.from({ length: Math.min(window, jsons.length) }, worker));
}

export const STREAM = CLUSTER_NAMES.stream;
