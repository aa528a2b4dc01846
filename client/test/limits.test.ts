import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  HistoryResponseSchema,
  KEYWORD_LIMITS,
  META_LIMITS,
  SignalFrameSchema,
  SignalSchema,
} from '@catalyst-signal/shared';
import {
  HISTORY_PAGE_SIZE,
  MAX_SIGNAL_BYTES,
  WS_MAX_PAYLOAD_BYTES,
  historyMaxBodyBytes,
} from '../src/limits.js';

// The bounds of client/src/limits.ts are derived from the wire contract; this keeps them so: if a schema limit
// grows until a genuine signal no longer fits with headroom, this fails rather than a client in production.

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
/** n control characters: 6 bytes each as JSON ("\u0001"), the most a UTF-16 unit can cost. */
const ctl = (n: number) => '\u0001'.repeat(n);
/** n control characters: 6 bytes each as JSON ("\u0001"), the most a UTF-16 unit can cost. */
/** A signal filled to every limit of SignalSchema, each text escaped as expensively as JSON allows. */
function largestSignal(): Record<string, unknown> {
  const ts = '2026-01-01T00:00:00.000000000+00:00';
  const big = 1.2345678901234568e-300;
  return {
    source_id: '"'.repeat(128), // printable ASCII, 2 bytes each escaped
    symbol: 'A'.repeat(32),
    catalyst: 'a'.repeat(40),
    direction: 'short',
    action: 'enter',
    asset_class: 'us_equity',
    exchange: 'N'.repeat(16),
    currency: 'U'.repeat(10),
    confidence: 0.1234567890123456,
    score: -big,
    sentiment: -0.1234567890123456,
    keywords: Array.from({ length: KEYWORD_LIMITS.maxCount }, () => 'k'.repeat(KEYWORD_LIMITS.maxLength)),
    relevance: big,
    price: big,
    position_size_pct: 99.12345678901234,
    timeframe: 'immediate',
    headline: ctl(500),
    url: `https://a.b/${ctl(2048 - 12)}`,
    source: ctl(100),
    published_at: ts,
    classified_at: ts,
    expires_at: ts,
    stop_loss: big,
    take_profit: big,
    meta: { m: 'x'.repeat(META_LIMITS.maxBytes - 8) }, // meta is bounded as JSON bytes
    seq: Number.MAX_SAFE_INTEGER,
    epoch: ctl(64),
    ingested_at: ts,
    sig: 'A'.repeat(512),
  };
}

describe('client bounds (client/src/limits.ts)', () => {
  it('the largest valid signal fits MAX_SIGNAL_BYTES with headroom, and its frame the WebSocket bound', () => {
    const s = largestSignal();
    expect(SignalSchema.safeParse(s).success).toBe(true);
    // Each field at its limit + 1 is refused: the worst case above is the schema's, not a guess.
    for (const [k, v] of [
      ['headline', ctl(501)],
      ['url', `https://a.b/${ctl(2048 - 11)}`],
      ['source', ctl(101)],
      ['source_id', '"'.repeat(129)],
      ['epoch', ctl(65)],
      ['sig', 'A'.repeat(513)],
    ] as const)
      expect(SignalSchema.safeParse({ ...s, [k]: v }).success, k).toBe(false);
    const size = bytes(s);
    expect(size).toBeGreaterThan(20_000); // the worst case really is that large (~22.6 KB) ...
    expect(size * 1.3).toBeLessThan(MAX_SIGNAL_BYTES); // ... and the bound leaves >= 30 % for new fields
    const frame = { type: 'signal', signal: s };
    expect(SignalFrameSchema.safeParse(frame).success).toBe(true);
    expect(bytes(frame)).toBeLessThan(MAX_SIGNAL_BYTES);
    expect(WS_MAX_PAYLOAD_BYTES).toBeGreaterThanOrEqual(32 * MAX_SIGNAL_BYTES);
  });

  it('a history page of the size the client asks for, every signal the largest, fits its body bound', () => {
    expect(HISTORY_PAGE_SIZE).toBe(DEFAULTS.historyMaxLimit);
    const s = largestSignal();
    const page = {
      signals: Array.from({ length: HISTORY_PAGE_SIZE }, () => s),
      next_after_seq: Number.MAX_SAFE_INTEGER,
      head_seq: Number.MAX_SAFE_INTEGER,
      epoch: s['epoch'],
    };
    expect(HistoryResponseSchema.safeParse(page).success).toBe(true);
    expect(bytes(page)).toBeLessThan(historyMaxBodyBytes(HISTORY_PAGE_SIZE));
    expect(bytes({ ...page, signals: [s] })).toBeLessThan(historyMaxBodyBytes(1));
  });
});
