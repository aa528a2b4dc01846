import { newYorkToUtc, type CalendarDay } from '@catalyst-signal/shared/calendar';
import type { HorizonOutcome, Missing } from '@catalyst-signal/shared/outcomes';
import { summarize, type Summary } from './stats.js';

/**
 * The track record's aggregates, pure: signals' facets and their stored outcomes in, figures out. Every figure
 * is `ret` (from the signal's price, signed for the side the signal is judged on: an avoid or an exit of a
 * long wins when the price falls, so an avoid that saved money is a hit), per horizon, per group. A signal
 * whose horizon has no figure is counted as missing (with the reason) or pending (not computed yet), never
 * as a zero return. See docs/outcomes.md.
 */

export type SessionKind = 'pre' | 'regular' | 'after' | 'closed';
export type ActionKind = 'enter' | 'exit' | 'avoid' | 'info';

/** What a signal is grouped by, taken from it once when the worker first reads it. */
export interface SignalFacets {
  seq: number;
  /** classified_at, epoch ms. */
  at: number;
  symbol: string;
  action: ActionKind;
  direction?: string | undefined;
  catalyst: string;
  session: SessionKind;
  confidence: number;
  /** The news source (`source`), which the track record calls the publisher. */
  publisher?: string | undefined;
  keywords: readonly string[];
}

export const GROUP_BY = ['catalyst', 'action', 'session', 'confidence', 'keyword', 'publisher'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/** Group label for a signal without a publisher or keywords. */
export const NONE = '(none)';

/** Confidence buckets by tenths from 0.5; below 0.5 is one bucket (classifiers rarely publish there). */
export function confidenceBucket(c: number): string {
  if (c < 0.5) return '<0.5';
  if (c >= 0.9) return '0.9-1';
  const lo = Math.floor(c * 10) / 10;
  return `${lo.toFixed(1)}-${(lo + 0.1).toFixed(1)}`;
}

/** Which session a signal fell in, by the calendar (New York time); closed outside every session. */
export function sessionOf(t: number, calendar: readonly CalendarDay[]): SessionKind {
  for (const d of calendar) {
    if (t < newYorkToUtc(d.date, d.sessionOpen) || t >= newYorkToUtc(d.date, d.sessionClose)) continue;
    if (t < newYorkToUtc(d.date, d.open)) return 'pre';
    return t < newYorkToUtc(d.date, d.close) ? 'regular' : 'after';
  }
  return 'closed';
}

function keysOf(s: SignalFacets, by: GroupBy): readonly string[] {
  switch (by) {
    case 'catalyst':
      return [s.catalyst];
    case 'action':
      return [s.action];
    case 'session':
      return [s.session];
    case 'confidence':
      return [confidenceBucket(s.confidence)];
    case 'publisher':
      return [s.publisher ?? NONE];
    case 'keyword':
      // A signal counts once in each of its keywords' groups.
      return s.keywords.length ? [...new Set(s.keywords)] : [NONE];
  }
}

/** What the aggregates read of one stored outcome (the full figures are for the stories only). */
export type OutcomeFigures = Pick<HorizonOutcome, 'horizon' | 'missing' | 'ret' | 'abnormalRet'>;

/** One group at one horizon. */
export interface HorizonStats {
  horizon: string;
  /** Signals in the group. */
  signals: number;
  /** No figure, by reason (no_bars: no trade in the window). */
  missing: Partial<Record<Missing, number>>;
  /** Not computed yet (the horizon has not passed, or its bars are not final). */
  pending: number;
  /** Figures over the signals that have one; absent when none has (never zeros). */
  ret?: Summary | undefined;
  /** Mean market-adjusted return over the signals that have one. */
  meanAbnormal?: number | undefined;
}

export interface GroupStats {
  key: string;
  signals: number;
  horizons: HorizonStats[];
}

export interface Aggregates {
  overall: GroupStats;
  groups: Record<GroupBy, GroupStats[]>;
}

/** Each horizon's outcome of each signal, looked up once (groups overlap: a signal is read in seven of them). */
export type Column = readonly (OutcomeFigures | undefined)[];

function statsOf(
  key: string,
  members: readonly number[],
  columns: readonly Column[],
  horizons: readonly string[],
): GroupStats {
  return {
    key,
    signals: members.length,
    horizons: horizons.map((h, hi) => {
      const col = columns[hi]!;
      const rets: number[] = [];
      let abnormalSum = 0;
      let abnormalN = 0;
      const missing: Partial<Record<Missing, number>> = {};
      let pending = 0;
      for (const i of members) {
        const o = col[i];
        if (!o) pending++;
        else if (o.missing !== undefined || o.ret === undefined) {
          const why = o.missing ?? 'no_bars';
          missing[why] = (missing[why] ?? 0) + 1;
        } else {
          rets.push(o.ret);
          if (o.abnormalRet !== undefined) {
            abnormalSum += o.abnormalRet;
            abnormalN++;
          }
        }
      }
      return {
        horizon: h,
        signals: members.length,
        missing,
        pending,
        ret: summarize(rets),
        meanAbnormal: abnormalN ? abnormalSum / abnormalN : undefined,
      };
    }),
  };
}

/** Outcomes of each signal by horizon name. */
export function indexOutcomes<T extends OutcomeFigures>(
  rows: Iterable<{ seq: number; outcome: T }>,
): Map<number, Map<string, T>> {
  const out = new Map<number, Map<string, T>>();
  for (const r of rows) {
    let m = out.get(r.seq);
    if (!m) out.set(r.seq, (m = new Map()));
    m.set(r.outcome.horizon, r.outcome);
  }
  return out;
}

/** Aggregates over these signals at these horizons: overall and for each grouping, groups sorted by key. */
export function aggregate(
  signals: readonly SignalFacets[],
  outcomes: ReadonlyMap<number, ReadonlyMap<string, OutcomeFigures>>,
  horizons: readonly string[],
): Aggregates {
  return aggregateColumns(
    signals,
    horizons.map((h) => signals.map((s) => outcomes.get(s.seq)?.get(h))),
    horizons,
  );
}

/**
 * Stored outcomes as one column per horizon, aligned with `signals` (both in seq order): a merge of two sorted
 * lists, without a map per signal (a year of signals is 350k outcomes).
 */
export function outcomeColumns(
  signals: readonly SignalFacets[],
  rows: readonly { seq: number; outcome: OutcomeFigures }[],
  horizons: readonly string[],
): Column[] {
  const at = new Map(horizons.map((h, i) => [h, i]));
  const columns = horizons.map(() => new Array<OutcomeFigures | undefined>(signals.length).fill(undefined));
  let i = 0;
  for (const r of rows) {
    while (i < signals.length && signals[i]!.seq < r.seq) i++;
    if (i === signals.length) break;
    const h = at.get(r.outcome.horizon);
    if (signals[i]!.seq === r.seq && h !== undefined) columns[h]![i] = r.outcome;
  }
  return columns;
}

/** `aggregate` over columns from outcomeColumns. */
export function aggregateColumns(
  signals: readonly SignalFacets[],
  columns: readonly Column[],
  horizons: readonly string[],
): Aggregates {
  const groups = {} as Record<GroupBy, GroupStats[]>;
  for (const by of GROUP_BY) {
    const members = new Map<string, number[]>();
    signals.forEach((s, i) => {
      for (const k of keysOf(s, by)) {
        const list = members.get(k);
        if (list) list.push(i);
        else members.set(k, [i]);
      }
    });
    groups[by] = [...members.keys()].sort().map((k) => statsOf(k, members.get(k)!, columns, horizons));
  }
  return {
    overall: statsOf(
      'all',
      signals.map((_, i) => i),
      columns,
      horizons,
    ),
    groups,
  };
}

/**
 * The distribution of returns at one horizon: counts in fixed bins of `width` (fractions of price), from
 * below -`edge` to above +`edge` (the two outer bins are open), so pages can draw the same histogram.
 */
export function histogram(
  rets: readonly number[],
  width = 0.01,
  edge = 0.1,
): { from: number | null; to: number | null; count: number }[] {
  const inner = Math.round((2 * edge) / width);
  const bins = Array.from({ length: inner + 2 }, (_, i) => ({
    from: i === 0 ? null : -edge + (i - 1) * width,
    to: i === inner + 1 ? null : -edge + i * width,
    count: 0,
  }));
  for (const r of rets) {
    const i =
      r < -edge
        ? 0
        : r >= edge
          ? inner + 1
          : 1 + Math.min(inner - 1, Math.floor(Math.round(((r + edge) / width) * 1e9) / 1e9));
    bins[i]!.count++;
  }
  for (const b of bins) {
    // Clean decimal edges (-0.1 + 3 * 0.01 is not 0.07 in floating point).
    if (b.from !== null) b.from = Math.round(b.from * 1e6) / 1e6;
    if (b.to !== null) b.to = Math.round(b.to * 1e6) / 1e6;
  }
  return bins;
}
