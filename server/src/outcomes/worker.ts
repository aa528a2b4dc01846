import { builtinCalendar, type CalendarDay } from '@catalyst-signal/shared/calendar';
import { SIP_DELAY_MS, type MarketData } from '@catalyst-signal/shared/market-data';
import {
  computeOutcomes,
  HORIZONS,
  Missing,
  OUTCOME_CALENDAR_DAYS,
  outcomeSignalOf,
  TradingClock,
  type Horizon,
  type HorizonOutcome,
  type OutcomeSignal,
} from '@catalyst-signal/shared/outcomes';
import type { FilterableRow, SignalLogReader } from '../log/types.js';
import type { OutcomeDb, OutcomeJob } from '../store/outcome-db.js';
import { sessionOf } from './aggregate.js';

/**
 * The outcome worker (single-node): follows the signal log, and once each horizon of a us_equity signal has
 * passed and its bars are final (SIP, 15 minutes later), computes that horizon's outcome from 1-minute bars and
 * stores it. Time and market data are injected; each run does a bounded amount of work.
 */

export interface OutcomeWorkerDeps {
  reader: Pick<SignalLogReader, 'rowsAfter'>;
  market: MarketData;
  db: OutcomeDb;
  now: () => number;
  /** Trading days covering the signals and their horizons (default: the built-in US calendar). */
  calendar?: (from: number) => readonly CalendarDay[];
  horizons?: readonly Horizon[];
  /** The benchmark for abnormal returns (default IWM, small caps like Catalyst-Bot's; null: none). */
  benchmark?: string | null;
  /** Jobs per run. */
  batch?: number;
  onError?: (seq: number, err: unknown) => void;
  /**
   * Stores new final figures instead of `db.saveOutcomes` (cluster mode: published first, then applied here;
   * docs/outcomes.md "Cluster mode"). A throw leaves them unstored: the job is retried.
   */
  save?: (
    job: OutcomeJob,
    final: readonly HorizonOutcome[],
    nextDue: number | undefined,
    now: number,
  ) => Promise<void>;
}

export interface RunResult {
  added: number;
  computed: number;
  failed: number;
}

const RETRY_MS = 5 * 60_000;
// The longest horizon (5 trading days) fits in 10 calendar days, holidays included.
const calendarFrom = (from: number) => builtinCalendar(from, OUTCOME_CALENDAR_DAYS);

export class OutcomeWorker {
  private readonly horizons: readonly Horizon[];

  constructor(private readonly deps: OutcomeWorkerDeps) {
    this.horizons = deps.horizons ?? HORIZONS;
  }

  async runOnce(): Promise<RunResult> {
    const added = this.scan();
    const { computed, failed } = await this.computeDue(this.deps.batch ?? 200);
    return { added, computed, failed };
  }

  /**
   * Compute up to `limit` due jobs (oldest due first). `onJob` hears of each job as it ends: the backfill's
   * progress. A job whose market data failed is retried 5 minutes later.
   */
  async computeDue(
    limit: number,
    onJob?: (seq: number, ok: boolean) => void,
  ): Promise<{ computed: number; failed: number; jobs: number }> {
    let computed = 0;
    let failed = 0;
    const now = this.deps.now();
    const jobs = this.deps.db.dueJobs(now, limit);
    for (const job of jobs) {
      try {
        computed += await this.compute(job, now);
        onJob?.(job.seq, true);
      } catch (err) {
        failed++;
        this.deps.onError?.(job.seq, err);
        this.deps.db.saveOutcomes(job.seq, [], now + RETRY_MS, now);
        onJob?.(job.seq, false);
      }
    }
    return { computed, failed, jobs: jobs.length };
  }

  /**
   * Jobs for the signals classified in [from, to), read from the whole log; the cursor does not move (the
   * live worker still reads on from it) and a signal already known is skipped. Returns how many were added.
   */
  addRange(from: number, to: number): number {
    let added = 0;
    let after = 0;
    for (;;) {
      const rows = this.deps.reader.rowsAfter(after, 500);
      if (rows.length === 0) return added;
      after = rows[rows.length - 1]!.seq;
      const jobs = rows.flatMap((r) => {
        const j = this.jobOf(r);
        return j && j.facets!.at >= from && j.facets!.at < to ? [j] : [];
      });
      added += this.deps.db.addJobs(jobs);
    }
  }

  /** New us_equity signals with a price become jobs; the cursor moves past everything read. */
  private scan(): number {
    let added = 0;
    for (;;) {
      const cursor = this.deps.db.cursor();
      const rows = this.deps.reader.rowsAfter(cursor, 500);
      if (rows.length === 0) return added;
      const jobs = rows.flatMap((r) => {
        const j = this.jobOf(r);
        return j ? [j] : [];
      });
      added += this.deps.db.addJobs(jobs, rows[rows.length - 1]!.seq);
    }
  }

  /** The job of a us_equity signal with a price; undefined for any other row. */
  private jobOf(r: FilterableRow): OutcomeJob | undefined {
    if (r.asset_class !== 'us_equity') return undefined;
    const body = JSON.parse(r.body) as {
      price?: number;
      classified_at: string;
      stop_loss?: number;
      take_profit?: number;
      source?: string;
    };
    if (body.price === undefined) return undefined;
    // The same reading as the client's `track-record verify`.
    const sig = outcomeSignalOf({ ...body, price: body.price }, r.action, r.direction);
    const first = this.ends(sig)[0];
    return {
      seq: r.seq,
      symbol: r.symbol,
      signal: JSON.stringify(sig),
      due: (first ?? sig.at) + SIP_DELAY_MS,
      facets: {
        seq: r.seq,
        at: sig.at,
        symbol: r.symbol,
        action: r.action,
        direction: r.direction || undefined,
        catalyst: r.catalyst,
        session: sessionOf(sig.at, (this.deps.calendar ?? calendarFrom)(sig.at)),
        confidence: r.confidence,
        publisher: body.source,
        keywords: r.keywords ?? [],
      },
    };
  }

  /** Each horizon's end, in order (undefined past the calendar). */
  private ends(sig: OutcomeSignal): (number | undefined)[] {
    const clock = new TradingClock((this.deps.calendar ?? calendarFrom)(sig.at));
    const start = clock.align(sig.at);
    return this.horizons.map((h) => (start === undefined ? undefined : clock.add(start, h.minutes)));
  }

  private async compute(job: OutcomeJob, now: number): Promise<number> {
    const sig = JSON.parse(job.signal) as OutcomeSignal;
    const calendar = (this.deps.calendar ?? calendarFrom)(sig.at);
    // Only data that is final (SIP, 15 minutes old) decides an outcome.
    const finalNow = now - SIP_DELAY_MS;
    const ends = this.ends(sig);
    const ready = ends.filter((e): e is number => e !== undefined && e <= finalNow);
    if (ready.length === 0) {
      this.deps.db.saveOutcomes(job.seq, [], nextDue(ends, finalNow) ?? now + RETRY_MS, now);
      return 0;
    }
    const start = new TradingClock(calendar).align(sig.at)!;
    const bench = this.deps.benchmark === undefined ? 'IWM' : this.deps.benchmark;
    const symbols = bench && bench !== job.symbol ? [job.symbol, bench] : [job.symbol];
    const got = await this.deps.market.getBars(symbols, start, Math.max(...ready));
    const bars = got.get(job.symbol) ?? [];
    const benchBars = bench ? (got.get(bench) ?? []) : undefined;
    const out = computeOutcomes(sig, bars, calendar, finalNow, this.horizons, benchBars);
    const final = out.filter((o) => o.missing !== Missing.notYet && o.missing !== Missing.noCalendar);
    const pending = out.length - final.length;
    const due = pending === 0 ? undefined : (nextDue(ends, finalNow) ?? now + RETRY_MS);
    if (this.deps.save && final.length > 0) await this.deps.save(job, final, due, now);
    else this.deps.db.saveOutcomes(job.seq, final, due, now);
    return final.length;
  }
}

function nextDue(ends: readonly (number | undefined)[], finalNow: number): number | undefined {
  const next = ends.find((e) => e !== undefined && e > finalNow);
  return next === undefined ? undefined : next + SIP_DELAY_MS;
}

export interface OutcomeLoop {
  /** Stop the timer and wait for a run in progress. Safe to call twice. */
  stop(): Promise<void>;
}

/** Run the worker now and then every `intervalMs`, never two runs at once. */
export function startOutcomeLoop(
  worker: OutcomeWorker,
  intervalMs: number,
  onRunError: (err: unknown) => void,
): OutcomeLoop {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped || running) return;
    running = worker
      .runOnce()
      .then(
        () => undefined,
        (err: unknown) => onRunError(err),
      )
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await running;
      })()),
  };
}
