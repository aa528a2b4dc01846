import { parseSince } from '../cli-args.js';
import { exportLines } from '../export.js';
import type { Journal } from '../journal/index.js';
import { ExportQuerySchema } from './api.js';

/**
 * The dashboard's CSV download: the very lines `catalyst-client export` prints (export.ts exportLines), read
 * whole before anything is sent so that a download past the row cap is refused with words the friend can act
 * on, instead of a file cut short that looks complete. The cap bounds the memory one request can take.
 */

export type ExportAnswer =
  { ok: true; filename: string; body: string } | { ok: false; status: number; code: string; message: string };

/** Lines built between two turns of the event loop (~20 ms of work on a busy 2-core machine). */
const SLICE = 500;

export async function exportCsv(
  journal: Pick<Journal, 'exportQueries' | 'intentsFor'>,
  params: URLSearchParams,
  now: number,
  maxRows: number,
  slice = SLICE,
): Promise<ExportAnswer> {
  const q = ExportQuerySchema.safeParse(Object.fromEntries(params));
  if (!q.success)
    return { ok: false, status: 400, code: 'bad_request', message: 'give kind=decisions|orders|fills' };
  const { kind, since } = q.data;
  let from = 0;
  try {
    if (since !== undefined) from = parseSince(since, now);
  } catch (e) {
    return { ok: false, status: 400, code: 'bad_request', message: `since: ${(e as Error).message}` };
  }
  const lines: string[] = [];
  for (const line of exportLines(journal, kind, from)) {
    // lines[0] is the header: more than maxRows rows is maxRows + 2 lines.
    if (lines.length > maxRows) {
      const window = since === undefined ? '' : ` since ${since}`;
      return {
        ok: false,
        status: 413,
        code: 'too_many_rows',
        message: `more than ${maxRows} ${kind}${window}: choose a shorter period, or run catalyst-client export ${kind} (no limit)`,
      };
    }
    lines.push(line);
    // `run --dashboard` shares this event loop: 50,000 rows take seconds, so signals and the live feed go
    // between slices. The journal queries read in pages (.all), so no statement stays open across a turn.
    if (lines.length % slice === 0) await new Promise((r) => setImmediate(r));
  }
  const day = new Date(now).toISOString().slice(0, 10);
  return { ok: true, filename: `catalyst-${kind}-${day}.csv`, body: lines.join('') };
}
