import { z } from 'zod';
import { DEFAULTS, SCOPES } from './protocol.js';
import { ASSET_CLASSES, KEYWORD_LIMITS, SIGNAL_ACTIONS, SignalSchema } from './signal.js';

/** Result for one classification of an ingest request. */
export const IngestResultSchema = z.object({
  source_id: z.string(),
  seq: z.int(),
  /** True when this source_id was ingested before: `seq` is the original one. */
  duplicate: z.boolean(),
});
export type IngestResult = z.infer<typeof IngestResultSchema>;

/** Answer to POST /v1/signals with one object (201 new, 200 duplicate). */
export const IngestSingleResponseSchema = IngestResultSchema.extend({ epoch: z.string() });
/** Answer to POST /v1/signals with an array (201 if any was new, else 200). */
export const IngestBatchResponseSchema = z.object({
  epoch: z.string(),
  results: z.array(IngestResultSchema),
});

/** A keyword filter (history, track record): one lower-case slug as signals carry them. */
export const KeywordFilterSchema = z
  .string()
  .min(1)
  .max(KEYWORD_LIMITS.maxLength)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case slug');

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, 'a non-negative integer')
    .transform(Number)
    .pipe(z.int().min(min).max(max));

/** Query of GET /v1/signals. All values arrive as strings. */
export const HistoryQuerySchema = z.strictObject({
  after_seq: intString(0, Number.MAX_SAFE_INTEGER).default(0),
  limit: intString(1, DEFAULTS.historyMaxLimit).default(DEFAULTS.historyLimit),
  symbol: z
    .string()
    .min(1)
    .max(32)
    .transform((s) => s.toUpperCase())
    .optional(),
  catalyst: z.string().min(1).max(40).optional(),
  min_confidence: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'a number from 0 to 1')
    .transform(Number)
    .optional(),
  /** By effectiveAction: v1 signals count as enter (long/short) or info (neutral). */
  action: z.enum(SIGNAL_ACTIONS).optional(),
  asset_class: z.enum(ASSET_CLASSES).optional(),
  /** Signals whose keywords contain this one. */
  keyword: KeywordFilterSchema.optional(),
  /** Signals with a sentiment at least this; a signal without sentiment does not pass. */
  min_sentiment: z
    .string()
    .regex(/^-?(0(\.\d+)?|1(\.0+)?)$/, 'a number from -1 to 1')
    .transform(Number)
    .optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});
export type HistoryQuery = z.output<typeof HistoryQuerySchema>;

export const HistoryResponseSchema = z.object({
  signals: z.array(SignalSchema),
  /** Pass as after_seq to get the next page; equals head_seq when there is nothing more (yet). */
  next_after_seq: z.int(),
  head_seq: z.int(),
  epoch: z.string(),
});
export type HistoryResponse = z.infer<typeof HistoryResponseSchema>;

/** RFC 9457 problem details, with this protocol's stable `code` and the invalid fields. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  code: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  transport: z.string().optional(),
  epoch: z.string().optional(),
  head_seq: z.int().optional(),
  /** Server clock, ms since the Unix epoch, for clock-skew checks. */
  time: z.number().optional(),
});

/** Admin: create an API key. */
export const CreateKeySchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/),
  scopes: z.array(z.enum(SCOPES)).min(1),
});

export const KeyInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});
export type KeyInfo = z.infer<typeof KeyInfoSchema>;
