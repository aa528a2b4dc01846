import { CachedMarketData } from '@catalyst-signal/shared/market-data';
import { TrackRecordQuerySchema } from '@catalyst-signal/shared';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { outcomeMarketData } from '../outcomes/start.js';
import { OutcomeWorker } from '../outcomes/worker.js';
import { lockDataDir } from '../store/lock.js';
import { OutcomeDb } from '../store/outcome-db.js';
import { SignalStore } from '../store/signals.js';
import { openExistingDb, requireDataDir } from './data-dir.js';

export interface BackfillOptions {
  config?: string | undefined;
  dataDir?: string | undefined;
  from: string;
  to?: string | undefined;
  callsPerMinute?: string | undefined;
}

export interface Progress {
  (done: number, total: number, failed: number): void;
  /** The last line is complete: a terminal's bar gets its newline. */
  end(): void;
}

/**
 * Progress for a terminal (one bar redrawn in place) or for a log (a plain line at every tenth and at the
 * end, so a journal gets a few lines rather than thousands).
 */
export function progressReporter(
  out: { isTTY?: boolean | undefined; write(s: string): unknown },
  now: () => number = Date.now,
): Progress {
  const started = now();
  let lastTenth = -1;
  let drawn = false;
  const line = (done: number, total: number, failed: number) => {
    const pct = total ? Math.floor((100 * done) / total) : 100;
    const elapsed = (now() - started) / 1000;
    const eta = done > 0 && done < total ? ` eta ${Math.ceil(((total - done) * elapsed) / done)} s` : '';
    return `backfill: ${done}/${total} signals (${pct} %)${failed ? `, ${failed} failed` : ''}${eta}`;
  };
  const report = ((done: number, total: number, failed: number) => {
    if (out.isTTY) {
      const width = 24;
      const filled = total ? Math.round((width * done) / total) : width;
      out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line(done, total, failed)}\x1b[K`);
      drawn = true;
      return;
    }
    const tenth = total ? Math.floor((10 * done) / total) : 10;
    if (tenth === lastTenth && done !== total) return;
    lastTenth = tenth;
    out.write(`${line(done, total, failed)}\n`);
  }) as Progress;
  report.end = () => {
    if (drawn) out.write('\n');
    drawn = false;
  };
  return report;
}

/**
 * `outcomes backfill`: outcomes of the signals classified in [from, to) of an existing data directory, computed
 * now at the data API's pace (the worker's own gate, 190 calls a minute by default), with progress. Resumable:
 * jobs and finished horizons are stored as they go, so a run stopped at any point continues where it was.
 * Takes the data directory's lock: a running server computes outcomes itself, and two processes on one
 * Alpaca key would share its rate limit.
 */
export async function outcomesBackfill(o: BackfillOptions, progress: Progress): Promise<string> {
  const config = loadConfig({ file: o.config, env: process.env, flags: { data_dir: o.dataDir } });
  const cfg = config.outcomes;
  if (!cfg)
    throw new UsageError(
      'outcomes backfill needs the outcomes block of the config (alpaca_key_id, ...): pass it with -c <config>',
    );
  if (config.cluster)
    throw new UsageError(
      'outcomes backfill runs on a single node data directory (cluster mode: docs/outcomes.md)',
    );
  const range = TrackRecordQuerySchema.pick({ from: true, to: true }).safeParse({ from: o.from, to: o.to });
  if (!range.success)
    throw new UsageError(
      `--from/--to: ${range.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} (a New York date YYYY-MM-DD or an ISO 8601 instant)`,
    );
  const from = range.data.from!;
  const to = range.data.to ?? Date.now();
  if (to <= from) throw new UsageError('--to must be after --from');
  const cpm = o.callsPerMinute === undefined ? 190 : Number(o.callsPerMinute);
  if (!Number.isInteger(cpm) || cpm < 1 || cpm > 200)
    throw new UsageError(
      "--calls-per-minute must be an integer from 1 to 200 (Alpaca's data API allows 200)",
    );

  const dir = requireDataDir(config.data_dir);
  const lock = lockDataDir(dir);
  const db = openExistingDb(dir);
  const odb = new OutcomeDb(dir);
  try {
    const worker = new OutcomeWorker({
      reader: new SignalStore(db),
      market: new CachedMarketData(outcomeMarketData(cfg, cpm), odb),
      db: odb,
      now: Date.now,
      benchmark: cfg.benchmark,
    });
    const added = worker.addRange(from, to);
    const total = odb.dueCount(Date.now());
    let done = 0;
    let failed = 0;
    let computed = 0;
    progress(0, total, 0);
    for (;;) {
      const r = await worker.computeDue(50, (_seq, ok) => {
        done++;
        if (!ok) failed++;
        progress(done, total, failed);
      });
      computed += r.computed;
      // Failed jobs are due again in 5 minutes, so they are not picked again here: the loop ends.
      if (r.jobs === 0) break;
    }
    progress.end();
    const waiting = odb.db.prepare('SELECT count(*) AS n FROM outcome_jobs').get() as { n: number };
    return [
      `backfill ${new Date(from).toISOString()} .. ${new Date(to).toISOString()}: ${added} new signal(s), ${done} job(s) run, ${computed} horizon figure(s) stored`,
      failed ? `${failed} failed (market data): run again later, or let the server's worker retry them` : '',
      waiting.n
        ? `${waiting.n} signal(s) still have a horizon to come or to retry (the server's outcome worker finishes them)`
        : '',
    ]
      .filter(Boolean)
      .join('\n');
  } finally {
    odb.close();
    db.close();
    lock.release();
  }
}
