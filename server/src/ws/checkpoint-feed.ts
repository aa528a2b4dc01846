import type { TemplatedApp } from 'uWebSockets.js';
import type { HelloFrame } from '@catalyst-signal/shared';
import type { CheckpointSigned } from '../log/checkpoints.js';
import type { Logger } from '../logger.js';
import { writeFrame } from './frames.js';
import type { Ws } from './socket-state.js';

/** Sockets that asked for checkpoint frames and went live: each new checkpoint is published here once. */
export const CHECKPOINT_TOPIC = 'cp';

/** What the feed needs from whatever signs or mirrors the log's checkpoints (log/checkpoints.ts). */
export interface CheckpointSource {
  readonly origin: string;
  readonly vkey: string;
  unavailable(): string | undefined;
  latestSigned(): { size: number; note: string } | undefined;
  onSigned(listener: (c: CheckpointSigned) => void): void;
  inclusion(index: number, size: number): Uint8Array[];
  consistency(first: number, second: number): Uint8Array[];
}

export interface CheckpointFeedOptions {
  source: CheckpointSource;
  intervalMs: number;
  /** Whether new signals carry a per-signal signature (hello.log.signal_sigs). */
  signalSigs: boolean;
  maxProofs: number;
  log: Logger;
}

/**
 * The stream's `checkpoint` frames (docs/protocol.md "The checkpoint frame"). A socket that asked gets one
 * frame when its replay ends (the latest checkpoint, consistency from the size it said it verified, proofs
 * for the replayed leaves it covers) and, in the same synchronous step, joins CHECKPOINT_TOPIC: from then on
 * every checkpoint is one frame for all of them, with consistency from the previous checkpoint and proofs for
 * the leaves new since it, computed once. So each leaf a live socket receives is proven in exactly one frame
 * (or, past `maxProofs` in one interval, left to tiles / REST), and the proof work does not grow with sockets.
 */
export class CheckpointFeed {
  constructor(
    private readonly app: TemplatedApp,
    private readonly o: CheckpointFeedOptions,
  ) {
    o.source.onSigned((c) => this.signed(c));
  }

  /** hello.log, or undefined while no checkpoint can be served (then a client must not ask for frames). */
  helloLog(): HelloFrame['log'] {
    if (this.o.source.unavailable() || !this.o.source.latestSigned()) return undefined;
    return {
      origin: this.o.source.origin,
      vkey: this.o.source.vkey,
      checkpoint_interval_ms: this.o.intervalMs,
      signal_sigs: this.o.signalSigs,
      max_proofs: this.o.maxProofs,
    };
  }

  /**
   * A socket's replay reached the head: send the latest checkpoint for it and join the topic. `replayed` is the
   * range of leaf indexes [from, to) sent during the replay; `fromSize` the size the client verified last.
   */
  goLive(ws: Ws, fromSize: number | undefined, replayed: { from: number; to: number }): void {
    const c = this.o.source.latestSigned();
    if (!c || this.o.source.unavailable()) return;
    const frame = this.frame(c.size, c.note, fromSize, replayed.from, Math.min(replayed.to, c.size));
    if (frame) ws.send(frame);
    ws.subscribe(CHECKPOINT_TOPIC);
  }

  /**
   * A witness cosigned the checkpoint of `size`: when it is still the latest, every live socket gets it again
   * with the cosignatures (same size, no new proofs), so a witness policy sees them without polling.
   */
  cosigned(size: number): void {
    const c = this.o.source.latestSigned();
    if (!c || c.size !== size || this.app.numSubscribers(CHECKPOINT_TOPIC) === 0) return;
    const frame = this.frame(c.size, c.note, c.size, c.size, c.size);
    if (frame) this.app.publish(CHECKPOINT_TOPIC, frame);
  }

  leave(ws: Ws): void {
    ws.unsubscribe(CHECKPOINT_TOPIC);
  }

  private signed(c: CheckpointSigned): void {
    if (this.app.numSubscribers(CHECKPOINT_TOPIC) === 0) return;
    const frame = this.frame(c.size, c.note, c.previousSize, c.previousSize, c.size);
    if (frame) this.app.publish(CHECKPOINT_TOPIC, frame);
  }

  /** Proofs for leaves [from, to) (at most maxProofs of them), and consistency from `fromSize` when it is known. */
  private frame(
    size: number,
    note: string,
    fromSize: number | undefined,
    from: number,
    to: number,
  ): string | undefined {
    const s = this.o.source;
    try {
      const proofs = [];
      for (let i = from; i < Math.min(to, from + this.o.maxProofs); i++)
        proofs.push({ index: i, hashes: s.inclusion(i, size) });
      const consistency =
        fromSize !== undefined && fromSize > 0 && fromSize <= size
          ? { fromSize, hashes: fromSize === size ? [] : s.consistency(fromSize, size) }
          : undefined;
      return writeFrame.checkpoint({ note, consistency, proofs });
    } catch (err) {
      // A proof that cannot be built is a server fault; clients fall back to REST / tiles for these leaves.
      this.o.log.error({ err, size }, 'transparency log: a checkpoint frame could not be built');
      return undefined;
    }
  }
}
