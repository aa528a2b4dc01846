import type { TrackRecord, TrackRecordGroup, TrackRecordStory } from '@catalyst-signal/shared';
import type { Horizon, HorizonOutcome } from '@catalyst-signal/shared/outcomes';
import {
  aggregateColumns,
  GROUP_BY,
  histogram,
  type Column,
  type GroupStats,
  type HorizonStats,
  type SignalFacets,
} from './aggregate.js';
import type { Summary } from './stats.js';

/**
 * The body of GET /v1/track-record, pure: facets and stored outcomes in, the wire shape out (snake_case, null
 * for what is not known). Prices are left out on purpose: the bracket's exit price, the first trade's price and
 * the bars are market data (data licences); returns, excursions, minutes and R-multiples are derived figures.
 */

const n = (v: number | undefined): number | null => (v === undefined ? null : v);

function summaryWire(s: Summary | undefined) {
  return s
    ? {
        n: s.n,
        hits: s.hits,
        hit_rate: s.hitRate,
        hit_rate_ci: s.hitRateCi,
        mean: s.mean,
        mean_ci: s.meanCi ?? null,
        median: s.median,
        median_ci: s.medianCi ?? null,
      }
    : null;
}

function horizonWire(h: HorizonStats) {
  return {
    horizon: h.horizon,
    signals: h.signals,
    missing: h.missing as Record<string, number>,
    pending: h.pending,
    ret: summaryWire(h.ret),
    mean_abnormal: n(h.meanAbnormal),
  };
}

const groupWire = (g: GroupStats): TrackRecordGroup => ({
  key: g.key,
  signals: g.signals,
  horizons: g.horizons.map(horizonWire),
});

function storyOutcome(horizon: string, o: HorizonOutcome | undefined): TrackRecordStory['outcomes'][number] {
  const state = !o ? 'pending' : o.missing !== undefined || o.ret === undefined ? 'missing' : 'final';
  return {
    horizon,
    state,
    missing: state === 'missing' ? (o?.missing ?? 'no_bars') : null,
    ret: n(o?.ret),
    ret_first_trade: n(o?.retFirstTrade),
    mfe: n(o?.mfe),
    mae: n(o?.mae),
    mfe_r: n(o?.mfeR),
    mae_r: n(o?.maeR),
    minutes_to_mfe: n(o?.minutesToMfe),
    bracket: o?.bracket ? { first: o.bracket.first, ret: o.bracket.ret, r: n(o.bracket.r) } : null,
    bench_ret: n(o?.benchRet),
    abnormal_ret: n(o?.abnormalRet),
  };
}

/**
 * `columns`: what the aggregates read of the signals' stored horizons (outcomeColumns: one per horizon, aligned
 * with `signals`); `full`: one signal's full figures, asked only for the `stories` latest signals.
 */
export function buildTrackRecord(
  signals: readonly SignalFacets[],
  columns: readonly Column[],
  horizons: readonly Horizon[],
  stories: number,
  now: number,
  full: (seq: number) => readonly HorizonOutcome[],
): TrackRecord {
  const names = horizons.map((h) => h.name);
  const a = aggregateColumns(signals, columns, names);
  const latest = signals.slice(Math.max(0, signals.length - stories)).reverse();
  return {
    generated_at: new Date(now).toISOString(),
    horizons: horizons.map((h) => ({ name: h.name, minutes: h.minutes })),
    signals: signals.length,
    overall: groupWire(a.overall),
    groups: Object.fromEntries(GROUP_BY.map((g) => [g, a.groups[g].map(groupWire)])) as TrackRecord['groups'],
    distribution: names.map((h) => ({
      horizon: h,
      bins: histogram(
        columns[names.indexOf(h)]!.flatMap((r) =>
          r && r.missing === undefined && r.ret !== undefined ? [r.ret] : [],
        ),
      ),
    })),
    stories: latest.map((s) => storyOf(s, names, full(s.seq))),
  };
}

function storyOf(
  s: SignalFacets,
  names: readonly string[],
  figures: readonly HorizonOutcome[],
): TrackRecordStory {
  const byName = new Map(figures.map((o) => [o.horizon, o]));
  return {
    seq: s.seq,
    symbol: s.symbol,
    classified_at: new Date(s.at).toISOString(),
    action: s.action,
    direction: s.direction ?? null,
    catalyst: s.catalyst,
    session: s.session,
    confidence: s.confidence,
    publisher: s.publisher ?? null,
    keywords: [...s.keywords],
    outcomes: names.map((h) => storyOutcome(h, byName.get(h))),
  };
}
