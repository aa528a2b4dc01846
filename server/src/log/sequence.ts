import type { Classification, IngestResult } from '@catalyst-signal/shared';
import { seal, unsignedSignal } from './leaf.js';
import type { SignFn, StoredSignal } from './types.js';

export interface Sequenced {
  /** One per input, in input order. */
  results: IngestResult[];
  /** The new signals, seqs head+1, head+2, ... in order, signed and serialised once. */
  fresh: StoredSignal[];
}

export interface SequenceContext {
  /** The last assigned seq, read by the caller where nobody else can assign concurrently. */
  head: number;
  epoch: string;
  now: Date;
  /** The seq a source_id already has in the log (dedupe), or undefined. */
  seqOf(sourceId: string): number | undefined;
  sign: SignFn;
}

/**
 * Seq assignment, pure: dedupe by source_id (against the log and within the batch), then give each new item
 * the next seq, add epoch and ingested_at, sign, serialise (log/leaf.ts). Whoever calls this must store `fresh` atomically
 * with the head move, or not at all (the SQLite sequencer: one transaction).
 */
export function sequence(items: readonly Classification[], ctx: SequenceContext): Sequenced {
  let head = ctx.head;
  const ingestedAt = ctx.now.toISOString();
  const seen = new Map<string, number>();
  const results: IngestResult[] = [];
  const fresh: StoredSignal[] = [];
  for (const c of items) {
    const earlier = seen.get(c.source_id) ?? ctx.seqOf(c.source_id);
    if (earlier !== undefined) {
      results.push({ source_id: c.source_id, seq: earlier, duplicate: true });
      continue;
    }
    const seq = ++head;
    seen.set(c.source_id, seq);
    results.push({ source_id: c.source_id, seq, duplicate: false });
    fresh.push(seal(unsignedSignal(c, seq, ctx.epoch, ingestedAt), ctx.sign));
  }
  return { results, fresh };
}
