import type { SignalLogReader } from '../log/types.js';
import type { CompiledFilter } from './filters.js';
import { writeFrame } from './frames.js';

/** One page of replay: the frames to send and where the cursor ends. */
export interface ReplayStep {
  /** Frames that pass the filter, with their seq (so a sender that must stop early knows where it stopped). */
  frames: { seq: number; frame: string }[];
  /** Last seq examined (filtered-out rows count: the cursor moves past them). */
  cursor: number;
  /** True when the page reached the head: the caller must go live in the same synchronous step. */
  atHead: boolean;
  /** The next stored seq was not cursor + 1: history was pruned under the reader. */
  gap: boolean;
  /** Rows read from history (before filtering). */
  read: number;
}

/**
 * Read the next page after `cursor`. Pure over the log reader: no socket, no timers. Contiguity is checked on
 * the raw rows so a prune racing a replay can never turn into a silent gap.
 */
export function replayStep(
  reader: Pick<SignalLogReader, 'rowsAfter'>,
  cursor: number,
  pageSize: number,
  filter: CompiledFilter | undefined,
): ReplayStep {
  const rows = reader.rowsAfter(cursor, pageSize);
  const frames: ReplayStep['frames'] = [];
  let expect = cursor + 1;
  for (const row of rows) {
    if (row.seq !== expect)
      return { frames, cursor: expect - 1, atHead: false, gap: true, read: rows.length };
    expect++;
    if (!filter || filter.matches(row)) frames.push({ seq: row.seq, frame: writeFrame.signal(row.body) });
  }
  return { frames, cursor: expect - 1, atHead: rows.length < pageSize, gap: false, read: rows.length };
}
