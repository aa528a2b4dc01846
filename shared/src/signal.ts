import { z } from 'zod';
import { jsonDeeperThan } from './canonical.js';
import { UNSAFE_TEXT_MESSAGE, UNSAFE_TEXT_RE } from './text.js';

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

/** What the publisher asks for (protocol 2). Absent on a v1 signal: see effectiveAction. */
export const SignalAction = {
  /** Open a position in `direction` (then `long` or `short`). */
  enter: 'enter',
  /** Leave any position in the symbol and cancel its protective orders. */
  exit: 'exit',
  /** Block entries in the symbol for a while (the client's window). */
  avoid: 'avoid',
  /** An alert with no action. */
  info: 'info',
} as const;
export type SignalAction = (typeof SignalAction)[keyof typeof SignalAction];
export const SIGNAL_ACTIONS = Object.values(SignalAction) as [SignalAction, ...SignalAction[]];

/** What `symbol` is. Absent: not stated, a client takes it as its venue's class (what v1 meant). */
export const AssetClass = {
  /** A US-listed equity (NASDAQ, NYSE, AMEX), quoted in USD. */
  usEquity: 'us_equity',
  /** A crypto asset, traded as a pair on a crypto exchange. */
  crypto: 'crypto',
} as const;
export type AssetClass = (typeof AssetClass)[keyof typeof AssetClass];
export const ASSET_CLASSES = Object.values(AssetClass) as [AssetClass, ...AssetClass[]];

/** The publisher's holding horizon. */
export const Timeframe = {
  /** Act now; the edge decays within minutes. */
  immediate: 'immediate',
  /** Within the trading day. */
  intraday: 'intraday',
  /** Days to weeks. */
  swing: 'swing',
} as const;
export type Timeframe = (typeof Timeframe)[keyof typeof Timeframe];
export const TIMEFRAMES = Object.values(Timeframe) as [Timeframe, ...Timeframe[]];

/**
 * Fields a received signal carries that this version does not know (a later additive field) are kept, but
 * bounded: nested at most this deep, so verifying and journaling them can never overflow the stack.
 */
export const UNKNOWN_FIELD_MAX_DEPTH = 8;

/** Bounds of `keywords`. */
export const KEYWORD_LIMITS = { maxCount: 16, maxLength: 40 } as const;

/** A lower-case slug: catalysts and keywords. */
const slug = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case slug');

/** A free-text field at ingest: bounded, and refused when it holds a character of UNSAFE_TEXT_RE. */
const plainText = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !UNSAFE_TEXT_RE.test(s), UNSAFE_TEXT_MESSAGE);

/** Bounds of the free-form `meta` object. */
export const META_LIMITS = { maxBytes: 4096, maxDepth: 4, maxKeys: 64 } as const;

/** 40 characters: an ISO 8601 time with nanoseconds and an offset is 35; longer is padding, not precision. */
const isoDateTime = z.iso.datetime({ offset: true }).max(40, 'an ISO 8601 time of at most 40 characters');

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
 * A ticker: ASCII letters and digits, in segments joined by one of . - _ / : ("AAPL", "BRK.B", "BRK/B", "BTC/USDT",
 * "BTC-USDT"). Never empty segments, so never "." or ".." or a leading or trailing separator: a symbol ends up as
 * a path segment of broker URLs (GET /v2/assets/{symbol}), where "." and ".." are the directory and its parent.
 */
export const SYMBOL_PATTERN = /^[A-Za-z0-9]+(?:[._/:-][A-Za-z0-9]+)*$/;

/** Ticker without normalisation: the received signal is verified exactly as sent, so nothing may rewrite it. */
const symbolText = z
  .string()
  .min(1)
  .max(32)
  .regex(SYMBOL_PATTERN, 'a ticker: letters and digits, joined by single . - _ / : (e.g. BRK.B, BTC/USDT)');

/** Fields of a classification, shared by what a publisher sends and what a client receives. */
const classificationShape = {
  /** The publisher's unique id for this classification; the idempotency key. */
  source_id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  /** Ticker as the publisher knows it, e.g. "AAPL" or "BTC". Upper-cased on ingest. */
  symbol: symbolText,
  /** Kind of catalyst: one of KNOWN_CATALYSTS or another lower-case slug. */
  catalyst: slug(40),
  /** Optional since protocol 2: required when `action` is absent (v1) or `enter` (then long or short). */
  direction: z.enum(DIRECTIONS).optional(),
  /** What the publisher asks for; absent on v1 signals (effectiveAction gives the meaning). */
  action: z.enum(SIGNAL_ACTIONS).optional(),
  /** What `symbol` is; absent = not stated (the client's venue decides, as in v1). */
  asset_class: z.enum(ASSET_CLASSES).optional(),
  /** Listing exchange of an equity, upper-case, e.g. NASDAQ, NYSE, AMEX. */
  exchange: z
    .string()
    .min(1)
    .max(16)
    .regex(/^[A-Z][A-Z0-9_-]*$/, 'upper-case slug')
    .optional(),
  /** Quote currency of price, stop_loss and take_profit, e.g. USD, USDT. */
  currency: z
    .string()
    .min(2)
    .max(10)
    .regex(/^[A-Z][A-Z0-9]*$/, 'upper-case code')
    .optional(),
  /** Classifier confidence, 0..1. */
  confidence: z.number().min(0).max(1),
  /** Optional classifier score (the publisher's total score) on its own scale. */
  score: z.number().optional(),
  /** Publisher's sentiment, -1 (negative) .. 1 (positive). */
  sentiment: z.number().min(-1).max(1).optional(),
  /** Keyword categories that fired, e.g. fda, offering (KEYWORD_LIMITS). */
  keywords: z.array(slug(KEYWORD_LIMITS.maxLength)).max(KEYWORD_LIMITS.maxCount).optional(),
  /** Publisher's relevance on its own scale (>= 0). */
  relevance: z.number().min(0).optional(),
  /** Reference price of the symbol when the alert was made (in `currency` when given). */
  price: z.number().positive(),
  /** Suggested position size in PERCENT of equity (3.06 = 3.06 %): a hint a client may honour. */
  position_size_pct: z.number().positive().max(100).optional(),
  /** The publisher's holding horizon. */
  timeframe: z.enum(TIMEFRAMES).optional(),
  /** Free text: no control, bidi or invisible characters (shared/src/text.ts), refused at ingest. */
  headline: plainText(1, 500),
  /** Checked before the URL parser, which silently drops tabs and line breaks. */
  url: z
    .string()
    .refine((s) => !UNSAFE_TEXT_RE.test(s), UNSAFE_TEXT_MESSAGE)
    .pipe(z.url({ protocol: /^https?$/ }).max(2048))
    .optional(),
  /** News source, e.g. "businesswire". */
  source: plainText(1, 100).optional(),
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
};

/**
 * The cross-field rules of protocol 2, on both the publisher's and the client's side: without `action` a
 * signal means what v1 meant, so it needs its direction; `enter` needs a side to enter.
 */
function crossFieldRules(
  s: { action?: SignalAction | undefined; direction?: Direction | undefined },
  ctx: z.RefinementCtx,
): void {
  if (s.action === undefined && s.direction === undefined) {
    ctx.addIssue({ code: 'custom', path: ['direction'], message: 'required when action is absent' });
  }
  if (s.action === SignalAction.enter && s.direction !== 'long' && s.direction !== 'short') {
    ctx.addIssue({
      code: 'custom',
      path: ['direction'],
      message: 'action enter needs direction long or short',
    });
  }
}

/**
 * What a publisher (Catalyst-Bot) POSTs: one classification of one news item. Unknown keys are refused so a
 * typo in a field name is an error, not a silently dropped hint.
 */
export const ClassificationSchema = z
  .strictObject({
    ...classificationShape,
    symbol: symbolText.transform((s) => s.toUpperCase()),
  })
  .superRefine(crossFieldRules);
export type Classification = z.output<typeof ClassificationSchema>;
export type ClassificationInput = z.input<typeof ClassificationSchema>;

/** What the server adds to a classification. */
const serverShape = {
  /** Position in the store's log: 1, 2, 3, ... never reused. */
  seq: z.int().min(1),
  /** Random id of the store; a new database has a new epoch. */
  epoch: z.string().min(1).max(64),
  /** When the server committed it. */
  ingested_at: isoDateTime,
  /** Detached compact JWS (EdDSA) over canonicalJson(signal without `sig`). */
  sig: z.string().max(512).optional(),
};

/**
 * Free text as received: the bounds only. Ingest refuses control, bidi and invisible characters, but signals
 * stored before it did still carry them (signed as they are), so a client must neither refuse them nor halt on
 * them; every display renders them inert instead (inertText).
 */
const receivedTextShape = {
  headline: z.string().min(1).max(500),
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  source: z.string().min(1).max(100).optional(),
};

/**
 * The stored and broadcast signal, as a client receives it. LOOSE: fields this version does not know are
 * kept (never stripped, never refused), so they stay covered by the signature, which is verified over the
 * object exactly as received minus `sig`; they are otherwise ignored. Nothing here transforms a value, for
 * the same reason. A later additive field therefore never strands a deployed client.
 */
export const SignalSchema = z
  .object({ ...classificationShape, ...receivedTextShape, ...serverShape })
  .catchall(
    z
      .unknown()
      .refine(
        (v) => !jsonDeeperThan(v, UNKNOWN_FIELD_MAX_DEPTH),
        `nested deeper than ${UNKNOWN_FIELD_MAX_DEPTH}`,
      ),
  )
  .superRefine(crossFieldRules);

/** The known fields of a signal (a received one may carry more; see SignalSchema). */
export type Signal = Classification & {
  seq: number;
  epoch: string;
  ingested_at: string;
  sig?: string | undefined;
};

/** The part of a signal that its signature covers: everything but `sig`, unknown fields included. */
export function signedPart(signal: Signal): Omit<Signal, 'sig'> {
  const { sig: _sig, ...rest } = signal;
  return rest;
}

/**
 * THE rule for what a signal asks for: `action` when present; else (a v1 signal) `enter` for long/short and
 * `info` for neutral, which is exactly what v1 meant (v1 clients skipped neutral signals). Every part of the
 * project (server filters, client decisions) goes through this function.
 */
export function effectiveAction(s: {
  action?: SignalAction | null | undefined;
  /** Typed wide so a stored row ('' or null for "none") goes through the same rule. */
  direction?: string | null | undefined;
}): SignalAction {
  if (s.action != null) return s.action;
  return s.direction === 'long' || s.direction === 'short' ? SignalAction.enter : SignalAction.info;
}
