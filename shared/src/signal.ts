import { z } from 'zod';

/** Catalyst kinds Catalyst-Bot emits today. Any other lower-case slug is accepted too (`catalyst` is open). */
export const KNOWN_CATALYSTS = [
  'earnings',
  'fda',
  'merger',
  'offering',
  'guidance',
  'analyst',
  'legal',
  'partnership',
  'other',
] as const;

export const DIRECTIONS = ['long', 'short', 'neutral'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Bounds of the free-form `meta` object. */
export const META_LIMITS = { maxBytes: 4096, maxDepth: 4, maxKeys: 64 } as const;

const isoDateTime = z.iso.datetime({ offset: true });

function metaDepth(value: unknown, depth: number): number {
  if (value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  for (const v of Object.values(value as object)) max = Math.max(max, metaDepth(v, depth + 1));
  return max;
}

const metaSchema = z.record(z.string().max(64), z.json()).superRefine((meta, ctx) => {
  if (Object.keys(meta).length > META_LIMITS.maxKeys) {
    ctx.addIssue({ code: 'custom', message: `at most ${META_LIMITS.maxKeys} keys` });
  }
  if (metaDepth(meta, 0) > META_LIMITS.maxDepth) {
    ctx.addIssue({ code: 'custom', message: `nested deeper than ${META_LIMITS.maxDepth}` });
  }
  if (new TextEncoder().encode(JSON.stringify(meta)).length > META_LIMITS.maxBytes) {
    ctx.addIssue({ code: 'custom', message: `larger than ${META_LIMITS.maxBytes} bytes as JSON` });
  }
});

/**
 * What a publisher (Catalyst-Bot) POSTs: one classification of one news item. Unknown keys are refused so a
 * typo in a field name is an error, not a silently dropped hint.
 */
export const ClassificationSchema = z.strictObject({
  /** The publisher's unique id for this classification; the idempotency key. */
  source_id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  /** Ticker as the publisher knows it, e.g. "AAPL" or "BTC". Upper-cased on ingest. */
  symbol: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[A-Za-z0-9.\-_/:]+$/, 'letters, digits and . - _ / :')
    .transform((s) => s.toUpperCase()),
  /** Kind of catalyst: one of KNOWN_CATALYSTS or another lower-case slug. */
  catalyst: z
    .string()
    .min(1)
    .max(40)
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case slug'),
  direction: z.enum(DIRECTIONS),
  /** Classifier confidence, 0..1. */
  confidence: z.number().min(0).max(1),
  /** Optional classifier score on the publisher's own scale. */
  score: z.number().optional(),
  /** Reference price of the symbol when the alert was made (quote currency of the publisher's market). */
  price: z.number().positive(),
  headline: z.string().min(1).max(500),
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  /** News source, e.g. "businesswire". */
  source: z.string().min(1).max(100).optional(),
  /** When the news item was published (ISO 8601 with offset). */
  published_at: isoDateTime.optional(),
  /** When Catalyst-Bot classified it. */
  classified_at: isoDateTime,
  /** After this instant the signal should not be acted on. */
  expires_at: isoDateTime.optional(),
  /** Suggested stop-loss price. */
  stop_loss: z.number().positive().optional(),
  /** Suggested take-profit price. */
  take_profit: z.number().positive().optional(),
  /** Free-form extras, bounded (META_LIMITS). */
  meta: metaSchema.optional(),
});
export type Classification = z.output<typeof ClassificationSchema>;
export type ClassificationInput = z.input<typeof ClassificationSchema>;

/** The stored and broadcast signal: the classification plus what the server adds. */
export const SignalSchema = ClassificationSchema.extend({
  /** Position in the store's log: 1, 2, 3, ... never reused. */
  seq: z.int().min(1),
  /** Random id of the store; a new database has a new epoch. */
  epoch: z.string().min(1).max(64),
  /** When the server committed it. */
  ingested_at: isoDateTime,
  /** Detached compact JWS (EdDSA) over canonicalJson(signal without `sig`). */
  sig: z.string().max(512).optional(),
});
export type Signal = z.output<typeof SignalSchema>;

/** The part of a signal that its signature covers: everything but `sig`. */
export function signedPart(signal: Signal): Omit<Signal, 'sig'> {
  const { sig: _sig, ...rest } = signal;
  return rest;
}
