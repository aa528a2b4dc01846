import { effectiveAction, type Signal, type TrackRecordStory } from '@catalyst-signal/shared';
import { builtinCalendar } from '@catalyst-signal/shared/calendar';
import { SIP_DELAY_MS, type MarketData } from '@catalyst-signal/shared/market-data';
import {
  computeOutcomes,
  HORIZONS,
  Missing,
  OUTCOME_CALENDAR_DAYS,
  outcomeSignalOf,
  TradingClock,
  type HorizonOutcome,
} from '@catalyst-signal/shared/outcomes';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { failover, fetchTrackRecord } from '../http.js';
import { ownDataKeys, ownMarketData } from '../market-data.js';
import { Journal } from '../journal/index.js';

/**
 * `catalyst-client track-record verify`: recompute a sample of the outcomes the server serves, from the signals
 * this client journaled and its own Alpaca data keys, through the same shared outcome code the server's worker
 * uses (docs/outcomes.md), and say which agree. A server that edited a figure cannot hide it from a follower
 * who holds the signals and can fetch the bars.
 */

/** Figures agree when |a - b| <= REL_TOL * max(|a|, |b|) (or both are within ABS_TOL of zero). */
export const REL_TOL = 1e-9;
const ABS_TOL = 1e-12;

const close = (a: number | null, b: number | null): boolean =>
  a === null || b === null
    ? a === b
    : Math.abs(a - b) <= Math.max(ABS_TOL, REL_TOL * Math.max(Math.abs(a), Math.abs(b)));

type StoryOutcome = TrackRecordStory['outcomes'][number];

/**
 * Differences between what the server serves for one horizon and the recomputed outcome, as
 * "figure server=… recomputed=…". A horizon the server has not computed yet (pending) is not compared.
 */
export function compareHorizon(served: StoryOutcome, mine: HorizonOutcome | undefined): string[] {
  if (served.state === 'pending') return [];
  const h = served.horizon;
  if (!mine || mine.missing === Missing.notYet || mine.missing === Missing.noCalendar)
    return [`${h}: server has ${served.state}, not final here yet`];
  if (served.state === 'missing' || mine.missing !== undefined)
    return served.missing === (mine.missing ?? null)
      ? []
      : [`${h} missing server=${served.missing ?? 'none'} recomputed=${mine.missing ?? 'none'}`];
  const n = (v: number | undefined) => (v === undefined ? null : v);
  const pairs: [string, number | null, number | null][] = [
    ['ret', served.ret, n(mine.ret)],
    ['ret_first_trade', served.ret_first_trade, n(mine.retFirstTrade)],
    ['mfe', served.mfe, n(mine.mfe)],
    ['mae', served.mae, n(mine.mae)],
    ['mfe_r', served.mfe_r, n(mine.mfeR)],
    ['mae_r', served.mae_r, n(mine.maeR)],
    ['minutes_to_mfe', served.minutes_to_mfe, n(mine.minutesToMfe)],
    ['bench_ret', served.bench_ret, n(mine.benchRet)],
    ['abnormal_ret', served.abnormal_ret, n(mine.abnormalRet)],
    ['bracket.ret', served.bracket?.ret ?? null, n(mine.bracket?.ret)],
    ['bracket.r', served.bracket?.r ?? null, n(mine.bracket?.r)],
  ];
  const out = pairs
    .filter(([, a, b]) => !close(a, b))
    .map(([k, a, b]) => `${h} ${k} server=${a} recomputed=${b}`);
  if ((served.bracket?.first ?? null) !== (mine.bracket?.first ?? null))
    out.push(
      `${h} bracket server=${served.bracket?.first ?? 'none'} recomputed=${mine.bracket?.first ?? 'none'}`,
    );
  return out;
}

/** mulberry32: a small seeded generator, so `--seed S` draws the same sample again. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `n` of `items` drawn without replacement (partial Fisher-Yates), in seq order. */
export function sample<T extends { seq: number }>(items: readonly T[], n: number, seed: number): T[] {
  const a = [...items];
  const r = rng(seed);
  const k = Math.min(n, a.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(r() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k).sort((x, y) => x.seq - y.seq);
}

export interface VerifyOptions {
  sample: number;
  seed?: number | undefined;
  /** The benchmark the server uses for abnormal returns (its `outcomes.benchmark`, default IWM). */
  benchmark: string;
  now?: number;
  market?: MarketData;
}

export async function trackRecordVerifyCommand(
  ctx: Context,
  opts: VerifyOptions,
): Promise<{ text: string; code: 0 | 1 }> {
  const { config, secrets } = ctx;
  if (!secrets.serverKey)
    throw new UsageError(`${config.server.key_env} is not set (environment or .env): a read key is needed`);
  const keys = opts.market ? undefined : ownDataKeys(ctx, 'track-record verify fetches bars');

  const j = Journal.openExisting(ctx.journalPath, ctx.configArg ?? ctx.configPath);
  const bySeq = new Map<number, Signal>();
  try {
    // The latest decision of a seq wins (a new epoch reuses seqs; the server serves its current one).
    for (const r of j.journaledEquitySignals()) bySeq.set(r.seq, JSON.parse(r.signal) as Signal);
  } finally {
    j.close();
  }
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const picked = sample(
    [...bySeq.values()].map((s) => ({ seq: s.seq, s })),
    opts.sample,
    seed,
  );
  if (picked.length === 0)
    return {
      text: 'track-record verify: no us_equity signal with a price in the journal: nothing to verify',
      code: 1,
    };

  const own = opts.market ? undefined : ownMarketData(ctx, keys!);
  const market = opts.market ?? own!.market;
  const now = opts.now ?? Date.now();
  const finalNow = now - SIP_DELAY_MS;
  const lines: string[] = [];
  let matched = 0;
  let mismatched = 0;
  let unserved = 0;
  try {
    for (const { s } of picked) {
      const at = Date.parse(s.classified_at);
      const name = `seq ${s.seq} ${s.symbol} ${effectiveAction(s)} ${s.classified_at}`;
      // One signal per query: its symbol and the millisecond it was classified in.
      const tr = await failover(config.server.urls, (baseUrl, failFast) =>
        fetchTrackRecord(
          { baseUrl, key: secrets.serverKey, failFast },
          {
            symbol: s.symbol,
            from: new Date(at).toISOString(),
            to: new Date(at + 1).toISOString(),
            stories: '500',
          },
        ),
      );
      const story = tr.stories.find((st) => st.seq === s.seq);
      const served = story?.outcomes.filter((o) => o.state !== 'pending') ?? [];
      if (served.length === 0) {
        unserved++;
        lines.push(`${name}: not served yet (no final horizon on the server)`);
        continue;
      }
      const sig = outcomeSignalOf({ ...s, price: s.price! }, effectiveAction(s), s.direction);
      const calendar = builtinCalendar(at, OUTCOME_CALENDAR_DAYS);
      const clock = new TradingClock(calendar);
      const start = clock.align(at);
      const ends = HORIZONS.map((h) => (start === undefined ? undefined : clock.add(start, h.minutes)));
      const ready = ends.filter((e): e is number => e !== undefined && e <= finalNow);
      const symbols = opts.benchmark && opts.benchmark !== s.symbol ? [s.symbol, opts.benchmark] : [s.symbol];
      const got =
        start !== undefined && ready.length
          ? await market.getBars(symbols, start, Math.max(...ready))
          : new Map<string, never[]>();
      const mine = computeOutcomes(
        sig,
        got.get(s.symbol) ?? [],
        calendar,
        finalNow,
        HORIZONS,
        opts.benchmark ? (got.get(opts.benchmark) ?? []) : undefined,
      );
      const diffs = served.flatMap((o) =>
        compareHorizon(
          o,
          mine.find((m) => m.horizon === o.horizon),
        ),
      );
      if (diffs.length === 0) {
        matched++;
        lines.push(`${name}: match (${served.length} horizons)`);
      } else {
        mismatched++;
        lines.push(`${name}: MISMATCH ${diffs.join('; ')}`);
      }
    }
  } finally {
    own?.close();
  }
  lines.push(
    `track-record verify: ${picked.length} of ${bySeq.size} signals (seed ${seed}): ${matched} match, ${mismatched} mismatch, ${unserved} not served yet; tolerance ${REL_TOL} relative`,
  );
  return { text: lines.join('\n'), code: mismatched > 0 ? 1 : 0 };
}
