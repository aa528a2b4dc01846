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
  let verdict: CosignVerdict | 'repeated' | 'no_witnesses' | 'error';
  if (frame.size <= data.cosignedSize) verdict = 'repeated';
  else if (!d.witnesses) verdict = 'no_witnesses';
  else {
    data.cosignedSize = frame.size;
    try {
      verdict = d.witnesses.receive(frame.size, frame.cosignature);
    } catch (err) {
      // A store that cannot write (disk full, read-only) must not take the stream down with it.
      d.log.error({ err, size: frame.size }, 'transparency log: a cosignature could not be stored');
      verdict = 'error';
    }
  }
  d.metrics.cosignatures.inc({ result: verdict });
  if (verdict === 'unknown_key' || verdict === 'bad_signature')
    d.log.warn({ socket: data.id, size: frame.size, verdict }, 'transparency log: a cosignature was dropped');
}
