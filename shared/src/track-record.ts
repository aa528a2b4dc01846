import { z } from 'zod';
import { newYorkToUtc } from './calendar/new-york.js';
import { KeywordFilterSchema } from './rest.js';
import { SIGNAL_ACTIONS } from './signal.js';

/**
 * GET /v1/track-record: what every us_equity signal would have earned, aggregated, and each signal's story,
 * from the server's outcomes (docs/outcomes.md). Only derived figures (returns as fractions of price, counts,
 * minutes, R-multiples): never a bar or a price from the market data (data licences).
 */

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** A New York date (the whole day) or an ISO 8601 instant with its offset. */
const when = (end: boolean) =>
  z.union([z.string().regex(DAY, 'YYYY-MM-DD'), z.iso.datetime({ offset: true })]).transform((s, ctx) => {
    if (!DAY.test(s)) return Date.parse(s);
    const t = newYorkToUtc(s, '00:00');
    // 2026-02-31 would otherwise roll over into March.
    const noon = Date.parse(`${s}T12:00:00Z`);
    if (Number.isNaN(t) || Number.isNaN(noon) || new Date(noon).toISOString().slice(0, 10) !== s) {
      ctx.addIssue({ code: 'custom', message: 'not a date' });
      return z.NEVER;
    }
    // `to` names the last day included: it ends at the next New York midnight (DST days are 23 or 25 hours).
    return end ? newYorkToUtc(new Date(t + DAY_MS + 12 * 3_600_000).toISOString().slice(0, 10), '00:00') : t;
  });

export const TRACK_RECORD_LIMITS = { storiesDefault: 50, storiesMax: 500 } as const;
export const SESSION_KINDS = ['pre', 'regular', 'after', 'closed'] as const;

/** The query, like history's filters: every parameter optional, unknown ones refused. */
export const TrackRecordQuerySchema = z.strictObject({
  /** Signals classified at or after: a New York date or an instant. */
  from: when(false).optional(),
  /** Signals classified before the end of this New York date, or before this instant. */
  to: when(true).optional(),
  symbol: z
    .string()
    .min(1)
    .max(32)
    .transform((s) => s.toUpperCase())
    .optional(),
  catalyst: z.string().min(1).max(40).optional(),
  action: z.enum(SIGNAL_ACTIONS).optional(),
  session: z.enum(SESSION_KINDS).optional(),
  keyword: KeywordFilterSchema.optional(),
  /** The news source (`source` on the signal). */
  publisher: z.string().min(1).max(100).optional(),
  min_confidence: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'a number from 0 to 1')
    .transform(Number)
    .optional(),
  /** How many of the latest matching signals' stories to include. */
  stories: z
    .string()
    .regex(/^\d{1,4}$/, 'an integer')
    .transform(Number)
    .pipe(z.int().min(0).max(TRACK_RECORD_LIMITS.storiesMax))
    .default(TRACK_RECORD_LIMITS.storiesDefault),
});
export type TrackRecordQuery = z.output<typeof TrackRecordQuerySchema>;

const interval = z.tuple([z.number(), z.number()]);

/** Returns (fractions of price, positive = good for the side the signal is judged on) over the signals with one. */
export const ReturnSummarySchema = z.object({
  n: z.int(),
  hits: z.int(),
  /** Share of returns > 0, with Wilson's 95 % interval. */
  hit_rate: z.number(),
  hit_rate_ci: interval,
  mean: z.number(),
  /** Student-t 95 % interval; null below 2 returns. */
  mean_ci: interval.nullable(),
  median: z.number(),
  /** Order-statistic 95 % interval; null below 6 returns. */
  median_ci: interval.nullable(),
});

export const HorizonStatsSchema = z.object({
  horizon: z.string(),
  signals: z.int(),
  /** Signals with no figure at this horizon, by reason (no_bars: no trade in the window). */
  missing: z.record(z.string(), z.int()),
  /** Signals not computed yet at this horizon. */
  pending: z.int(),
  /** null: no signal has a figure here (never zeros). */
  ret: ReturnSummarySchema.nullable(),
  mean_abnormal: z.number().nullable(),
});

export const TrackRecordGroupSchema = z.object({
  key: z.string(),
  signals: z.int(),
  horizons: z.array(HorizonStatsSchema),
});

const fig = z.number().nullable();

/** One horizon of one signal: figures derived from bars, no prices. */
export const StoryOutcomeSchema = z.object({
  horizon: z.string(),
  /** final: figures below; missing: no figure (see `missing`); pending: not computed yet. */
  state: z.enum(['final', 'missing', 'pending']),
  missing: z.string().nullable(),
  ret: fig,
  ret_first_trade: fig,
  mfe: fig,
  mae: fig,
  mfe_r: fig,
  mae_r: fig,
  minutes_to_mfe: fig,
  /** Which leg of a bracket at the signal's stop and target fills first; null without levels. */
  bracket: z.object({ first: z.enum(['stop', 'target', 'neither']), ret: z.number(), r: fig }).nullable(),
  bench_ret: fig,
  abnormal_ret: fig,
});

export const TrackRecordStorySchema = z.object({
  seq: z.int(),
  symbol: z.string(),
  classified_at: z.string(),
  action: z.enum(SIGNAL_ACTIONS),
  direction: z.string().nullable(),
  catalyst: z.string(),
  session: z.enum(SESSION_KINDS),
  confidence: z.number(),
  publisher: z.string().nullable(),
  keywords: z.array(z.string()),
  outcomes: z.array(StoryOutcomeSchema),
});

export const TRACK_RECORD_GROUPS = [
  'catalyst',
  'action',
  'session',
  'confidence',
  'keyword',
  'publisher',
] as const;

export const TrackRecordSchema = z.object({
  generated_at: z.string(),
  horizons: z.array(z.object({ name: z.string(), minutes: z.int() })),
  /** Matching signals. */
  signals: z.int(),
  overall: TrackRecordGroupSchema,
  groups: z.object(
    Object.fromEntries(TRACK_RECORD_GROUPS.map((g) => [g, z.array(TrackRecordGroupSchema)])) as Record<
      (typeof TRACK_RECORD_GROUPS)[number],
      z.ZodArray<typeof TrackRecordGroupSchema>
    >,
  ),
  /** Returns at each horizon in bins (`from` null: below the first edge; `to` null: above the last). */
  distribution: z.array(
    z.object({
      horizon: z.string(),
      bins: z.array(z.object({ from: z.number().nullable(), to: z.number().nullable(), count: z.int() })),
    }),
  ),
  /** The latest matching signals, newest first, each with its figures at every horizon. */
  stories: z.array(TrackRecordStorySchema),
});
export type TrackRecord = z.infer<typeof TrackRecordSchema>;
export type TrackRecordStory = z.infer<typeof TrackRecordStorySchema>;
export type TrackRecordGroup = z.infer<typeof TrackRecordGroupSchema>;
