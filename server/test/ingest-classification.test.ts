import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClassificationSchema, DIRECTIONS, SIGNAL_ACTIONS, TIMEFRAMES } from '@catalyst-signal/shared';
import { parseClassification } from '../src/http/classification.js';

// The ingest edge runs ClassificationSchema through zod's compiled parser (meta apart, at runtime): it must
// answer exactly as ClassificationSchema does, valid or not, output and issues alike.

const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const iso = fc
  .integer({ min: Date.parse('2020-01-01'), max: Date.parse('2030-01-01') })
  .map((ms) => new Date(ms).toISOString());

const fields = {
  source_id: fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
  symbol: fc.stringMatching(/^[A-Za-z0-9]{1,6}(?:[.\-_/:][A-Za-z0-9]{1,4}){0,2}$/),
  catalyst: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,39}$/),
  direction: fc.constantFrom(...DIRECTIONS),
  action: fc.constantFrom(...SIGNAL_ACTIONS),
  confidence: finite(0, 1),
  price: finite(0.0001, 1e6),
  headline: fc.string({ minLength: 1, maxLength: 80 }),
  url: fc.webUrl(),
  classified_at: iso,
  sentiment: finite(-1, 1),
  keywords: fc.array(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,39}$/), { maxLength: 16 }),
  timeframe: fc.constantFrom(...TIMEFRAMES),
  meta: fc.dictionary(fc.string({ maxLength: 70 }), fc.jsonValue({ maxDepth: 5 }), { maxKeys: 70 }),
};
const required = ['source_id', 'symbol', 'catalyst', 'confidence', 'price', 'headline', 'classified_at'];
const nearlyValid = fc.record(fields, { requiredKeys: required as never }) as fc.Arbitrary<
  Record<string, unknown>
>;

/** Valid-looking items, some spoiled: a field replaced by any JSON, a required one removed, a key added. */
const items = fc.oneof(
  nearlyValid,
  fc
    .tuple(nearlyValid, fc.constantFrom(...Object.keys(fields), 'extra'), fc.jsonValue({ maxDepth: 3 }))
    .map(([c, k, v]) => ({ ...c, [k]: v })),
  fc.tuple(nearlyValid, fc.constantFrom(...required)).map(([c, k]) => {
    const { [k]: _gone, ...rest } = c;
    return rest;
  }),
  fc.jsonValue({ maxDepth: 3 }),
);

describe('parseClassification: ClassificationSchema, faster', () => {
  it('accepts, outputs and refuses exactly as ClassificationSchema does', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(items, (item) => {
        const ours = parseClassification(item);
        const theirs = ClassificationSchema.safeParse(item);
        expect(ours.success).toBe(theirs.success);
        if (ours.success) {
          accepted++;
          expect(ours.data).toEqual(theirs.data);
        } else {
          refused++;
          expect(ours.error.issues).toEqual(theirs.error!.issues);
        }
      }),
      { numRuns: 600 },
    );
    // Both sides of the answer were exercised, not only one.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });

  it('applies meta’s own rules (keys, depth, size) after the compiled part accepted the rest', () => {
    const base = {
      source_id: 's1',
      symbol: 'acme',
      catalyst: 'earnings',
      direction: 'long',
      confidence: 0.5,
      price: 1,
      headline: 'h',
      classified_at: '2026-01-01T00:00:00Z',
    };
    const ok = parseClassification({ ...base, meta: { t: 1 } });
    expect(ok.success && ok.data).toMatchObject({ symbol: 'ACME', meta: { t: 1 } });
    const deep = parseClassification({ ...base, meta: { a: { b: { c: { d: { e: 1 } } } } } });
    expect(deep.success).toBe(false);
    const wide = parseClassification({
      ...base,
      meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])),
    });
    expect(wide.success).toBe(false);
    expect(parseClassification({ ...base, meta: 'x' }).success).toBe(false);
  });
});
