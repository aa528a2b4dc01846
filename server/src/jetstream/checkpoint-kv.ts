import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { KvWatchInclude, type KV } from '@nats-io/kv';
import { CLUSTER_NAMES } from './cluster-log.js';

/** The published checkpoint as read, with the revision a fenced write must name. */
export interface Published {
  note: string;
  revision: number;
}

/** The latest checkpoint in the meta bucket, or undefined before the first one. */
export async function readPublished(meta: KV): Promise<Published | undefined> {
  const e = await meta.get(CLUSTER_NAMES.checkpointKey);
  if (!e || e.operation !== 'PUT') return undefined;
  return { note: e.string(), revision: e.revision };
}

/** Another writer published since the revision this publisher holds: it must read again before signing on. */
export class FencedError extends Error {
  override name = 'FencedError';
}

/**
 * Publishes checkpoints as one writer: each write names the revision this publisher last read or wrote
 * (`kv.create` when there was none), so a deposed holder that wakes up cannot write over its successor's
 * checkpoint; its write is refused with FencedError. Writes are chained: each names the one before.
 */
export class FencedPublisher {
  private revision: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly meta: KV,
    from: Published | undefined,
  ) {
    this.revision = from?.revision ?? 0;
  }

  publish(note: string): Promise<void> {
    const next = this.chain.then(async () => {
      try {
        this.revision =
          this.revision === 0
            ? await this.meta.create(CLUSTER_NAMES.checkpointKey, note)
            : await this.meta.update(CLUSTER_NAMES.checkpointKey, note, this.revision);
      } catch (err) {
        if (
          err instanceof JetStreamApiError &&
          (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
            err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
        )
          throw new FencedError(
            `checkpoint not published: another node published after revision ${this.revision}`,
          );
        throw err;
      }
    });
    // A failed write fails every later one too: the caller re-reads and starts a new publisher.
    this.chain = next;
    return next;
  }
}

/** How often a checkpoint watch also reads the published note directly (watchPublished). */
export const CHECKPOINT_POLL_MS = 10_000;

/**
 * Calls `onNote` with the published checkpoint now (if any) and with every later one, once each (by KV
 * revision), until stopped. The watch is a push consumer on one NATS server and can stall without a word when
 * that server dies (the outcomes watch has the same watchdog, roles/outcome-holder.ts): every `pollMs` the
 * published note is also read directly, and one newer than the watch delivered is offered and the watch started
 * again. Reads that fail (the cluster is away) are left to the next round.
 */
export async function watchPublished(
  meta: KV,
  onNote: (note: string) => void,
  pollMs = CHECKPOINT_POLL_MS,
): Promise<{ stop(): void; readonly restarts: number }> {
  let seen = 0;
  let stopped = false;
  let restarts = 0;
  const offer = (note: string, revision: number) => {
    if (revision <= seen) return false;
    seen = revision;
    onNote(note);
    return true;
  };
  const start = async () => {
    const w = await meta.watch({ key: CLUSTER_NAMES.checkpointKey, include: KvWatchInclude.LastValue });
    void (async () => {
      for await (const e of w) if (e.operation === 'PUT') offer(e.string(), e.revision);
    })().catch(() => undefined);
    return w;
  };
  let watch = await start();
  let polling = false;
  const poll = setInterval(() => {
    if (polling || stopped) return;
    polling = true;
    void (async () => {
      const p = await readPublished(meta);
      if (!p || stopped || !offer(p.note, p.revision)) return;
      restarts++;
      watch.stop();
      watch = await start();
      if (stopped) watch.stop();
    })()
      .catch(() => undefined)
      .finally(() => (polling = false));
  }, pollMs);
  poll.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(poll);
      watch.stop();
    },
    get restarts() {
      return restarts;
    },
  };
}
