import type { CosignFrame } from '@catalyst-signal/shared';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { CosignVerdict, WitnessBook } from '../log/witnesses.js';
import type { SocketData } from './socket-state.js';

/**
 * One `cosign` frame (docs/protocol.md): kept only if a configured witness validly cosigned a checkpoint this
 * log signed; anything else is counted and dropped without an answer (a witness has nothing to retry). Each
 * socket cosigns a size once and sizes only grow, so a socket costs at most one signature check per checkpoint.
 */
export function receiveCosign(
  data: SocketData,
  frame: CosignFrame,
  d: { witnesses?: WitnessBook | undefined; metrics: Metrics; log: Logger },
): void {
  type Verdict = CosignVerdict | 'repeated' | 'no_witnesses' | 'error';
  const count = (verdict: Verdict) => {
    d.metrics.cosignatures.inc({ result: verdict });
    if (verdict === 'unknown_key' || verdict === 'bad_signature')
      d.log.warn(
        { socket: data.id, size: frame.size, verdict },
        'transparency log: a cosignature was dropped',
      );
  };
  // A store that cannot write (disk full, read-only, the cluster away) must not take the stream down with it.
  const failed = (err: unknown): Verdict => {
    d.log.error({ err, size: frame.size }, 'transparency log: a cosignature could not be stored');
    return 'error';
  };
  if (frame.size <= data.cosignedSize) return count('repeated');
  if (!d.witnesses) return count('no_witnesses');
  data.cosignedSize = frame.size;
  let verdict: CosignVerdict | Promise<CosignVerdict>;
  try {
    verdict = d.witnesses.receive(frame.size, frame.cosignature);
  } catch (err) {
    return count(failed(err));
  }
  // The cluster's shared store answers later (jetstream/cosignature-kv.ts).
  if (typeof verdict === 'string') count(verdict);
  else void verdict.then(count, (err: unknown) => count(failed(err)));
}
