import type { SubscribeFrame } from '@catalyst-signal/shared';
import type { Ws } from './socket-state.js';

export interface AheadWaitsOptions {
  /** How long a subscribe beyond the head waits for it (a gateway's replica); 0 = never waits. */
  waitMs: number;
  /** The whole log's newest seq, asked fresh; a cursor beyond it is answered at once. */
  logHead?: (() => Promise<number>) | undefined;
  /** Subscribe again (mayWait false: answer now, `future` included). */
  subscribe(ws: Ws, f: SubscribeFrame, mayWait: boolean): void;
  /** The head did not get there in time. */
  expired(ws: Ws): void;
}

/**
 * Subscribes waiting for a replica's head to reach their from_seq: a client failing over from a gateway a
 * few ms ahead of this one must not hear `future` (it would halt, believing history it applied was lost).
 */
export class AheadWaits {
  private readonly waiting = new Map<Ws, { frame: SubscribeFrame; deadline: number }>();

  constructor(private readonly o: AheadWaitsOptions) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Whether this subscribe waits (true: it is answered later by resume, the log head check or expire). */
  wait(ws: Ws, f: SubscribeFrame, head: number, epoch: string): boolean {
    if (this.o.waitMs <= 0 || f.from_seq === undefined || f.from_seq <= head) return false;
    if ((f.epoch ?? epoch) !== epoch) return false;
    const waiting = { frame: f, deadline: Date.now() + this.o.waitMs };
    this.waiting.set(ws, waiting);
    this.o.logHead?.().then(
      (last) => {
        // Still waiting on this very subscribe, and the cursor is beyond the whole log: `future` now.
        if (this.waiting.get(ws) !== waiting || f.from_seq! <= last) return;
        this.waiting.delete(ws);
        this.o.subscribe(ws, f, false);
      },
      () => undefined, // the cluster did not answer: keep waiting for the replica (expire)
    );
    return true;
  }

  /**
   * Run after a publish, with the rows already readable: the waits the head has reached subscribe again, so the
   * normal replay -> live step serves them from the log (the just-published frames went out before they joined).
   */
  resume(head: number): void {
    for (const [ws, w] of this.waiting) {
      if ((w.frame.from_seq ?? 0) > head) continue;
      this.waiting.delete(ws);
      this.o.subscribe(ws, w.frame, true);
    }
  }

  /** A head that did not get there in time: the client is sent elsewhere, never told its cursor is lost. */
  expire(now = Date.now()): void {
    for (const [ws, w] of this.waiting) {
      if (w.deadline > now) continue;
      this.waiting.delete(ws);
      this.o.expired(ws);
    }
  }

  delete(ws: Ws): void {
    this.waiting.delete(ws);
  }
}
