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

/** Calls `onNote` with the published checkpoint now (if any) and with every later one, until stopped. */
export async function watchPublished(meta: KV, onNote: (note: string) => void): Promise<{ stop(): void }> {
  const w = await meta.watch({ key: CLUSTER_NAMES.checkpointKey, include: KvWatchInclude.LastValue });
  void (async () => {
    for await (const e of w) if (e.operation === 'PUT') onNote(e.string());
  })();
  return { stop: () => w.stop() };
}
