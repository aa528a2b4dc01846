import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { compactVerify, importJWK, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASSET_CLASSES,
  ClassificationSchema,
  DIRECTIONS,
  SIGNAL_ACTIONS,
  SignalSchema,
  TIMEFRAMES,
  UNKNOWN_FIELD_MAX_DEPTH,
  canonicalJson,
  effectiveAction,
  parseServerFrame,
  signedPart,
  type ClassificationInput,
  type Signal,
} from '@catalyst-signal/shared';
import { createSigner, type Signer } from '../src/signing.js';
import { seal } from '../src/log/leaf.js';

// Signal v2 properties (#11), through the real parts: the publisher's schema, the server's signer, a JSON
// round trip (the wire), the client's received-signal schema and an EdDSA verification as the client does it.

let signer: Signer;
let publicKey: CryptoKey | Uint8Array;

beforeAll(async () => {
  signer = await createSigner(generateKeyPairSync('ed25519').privateKey);
  publicKey = await importJWK(signer.publicJwk, 'EdDSA');
});

/** The client's check: the detached JWS over canonicalJson(signal as received minus sig). */
async function verifies(received: Signal): Promise<boolean> {
  const [h, , s] = received.sig!.split('.');
  const payload = Buffer.from(canonicalJson(signedPart(received))).toString('base64url');
  try {
    await compactVerify(`${h}.${payload}.${s}`, publicKey, { algorithms: ['EdDSA'] });
    return true;
  } catch {
    return false;
  }
}

const slug = (max: number) => fc.stringMatching(new RegExp(`^[a-z0-9][a-z0-9_-]{0,${max - 1}}$`));
const upper = (max: number) => fc.stringMatching(new RegExp(`^[A-Z][A-Z0-9]{1,${max - 1}}$`));
const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const iso = fc
  .integer({ min: Date.parse('2020-01-01'), max: Date.parse('2030-01-01') })
  .map((ms) => new Date(ms).toISOString());

/** The fields every classification has, v1 and v2. */
const common = {
  source_id: fc.stringMatching(/^[\x21-\x7e]{1,64}$/),
  symbol: fc.stringMatching(/^[A-Z0-9]{1,6}(?:[.\-_/:][A-Z0-9]{1,4}){0,2}$/),
  catalyst: slug(40),
  confidence: finite(0, 1),
  price: finite(0.0001, 1e6),
  headline: fc.string({ minLength: 1, maxLength: 80 }),
  classified_at: iso,
  score: finite(-100, 100),
  stop_loss: finite(0.0001, 1e6),
  take_profit: finite(0.0001, 1e6),
};
const commonRequired = [
  'source_id',
  'symbol',
  'catalyst',
  'confidence',
  'price',
  'headline',
  'classified_at',
];

/** A v1 classification: exactly the old shape (direction required, none of the v2 fields). */
const v1Classification = fc.record(
  { ...common, direction: fc.constantFrom(...DIRECTIONS) },
  { requiredKeys: [...commonRequired, 'direction'] as never },
) as fc.Arbitrary<ClassificationInput>;

/** A v2 classification, valid by construction: direction follows the cross-field rules of its action. */
const v2Classification = fc
  .tuple(
    fc.option(fc.constantFrom(...SIGNAL_ACTIONS), { nil: undefined }),
    fc.record(
      {
        ...common,
        asset_class: fc.constantFrom(...ASSET_CLASSES),
        exchange: fc.constantFrom('NASDAQ', 'NYSE', 'AMEX', 'BINANCE'),
        currency: upper(10),
        sentiment: finite(-1, 1),
        keywords: fc.array(slug(40), { maxLength: 16 }),
        relevance: finite(0, 1000),
        position_size_pct: finite(0.01, 100),
        timeframe: fc.constantFrom(...TIMEFRAMES),
      },
      { requiredKeys: commonRequired as never },
    ),
    fc.constantFrom(...DIRECTIONS),
    fc.boolean(),
  )
  .map(([action, rest, direction, withDirection]) => {
    const c: Record<string, unknown> = { ...rest };
    if (action !== undefined) c['action'] = action;
    // Required without action, long/short for enter, optional (and ignored) otherwise.
    if (action === undefined) c['direction'] = direction;
    else if (action === 'enter') c['direction'] = direction === 'neutral' ? 'long' : direction;
    else if (withDirection) c['direction'] = direction;
    return c as ClassificationInput;
  });

const KNOWN = new Set(Object.keys(SignalSchema.shape));
/** Fields a later version might add: names this version does not know, any JSON within the depth bound. */
const unknownFields = fc.dictionary(
  fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/).filter((k) => !KNOWN.has(k)),
  fc.jsonValue({ maxDepth: 3 }),
  { minKeys: 1, maxKeys: 4 },
);

/** What the server does at ingest (log/leaf.ts): add seq, epoch, ingested_at, then sign and serialise. */
function ingest(c: ClassificationInput, seq: number, extra: Record<string, unknown> = {}): string {
  const parsed = ClassificationSchema.parse(c);
  const unsigned = { ...parsed, ...extra, seq, epoch: 'e1', ingested_at: '2026-01-01T00:00:00.000Z' };
  return seal(unsigned, (u) => signer.sign(u)).json;
}

/** What the client does: parse the wire text with the received-signal schema. */
const receive = (wire: string): Signal => SignalSchema.parse(JSON.parse(wire));

describe('signal v2 properties', () => {
  it('every v2 signal round-trips: schema -> canonical form -> sign -> wire -> received schema -> verify', async () => {
    await fc.assert(
      fc.asyncProperty(v2Classification, fc.integer({ min: 1, max: 1e9 }), async (c, seq) => {
        const wire = ingest(c, seq);
        const received = receive(wire);
        expect(canonicalJson(received)).toBe(canonicalJson(JSON.parse(wire)));
        expect(await verifies(received)).toBe(true);
        expect(await verifies({ ...received, seq: seq + 1 })).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('every v1 signal stays valid, unchanged, and means what it meant (effectiveAction)', async () => {
    await fc.assert(
      fc.asyncProperty(v1Classification, async (c) => {
        const parsed = ClassificationSchema.parse(c);
        expect(canonicalJson(parsed)).toBe(canonicalJson(c));
        const received = receive(ingest(c, 1));
        expect(await verifies(received)).toBe(true);
        expect(effectiveAction(received)).toBe(c.direction === 'neutral' ? 'info' : 'enter');
      }),
      { numRuns: 200 },
    );
  });

  it('unknown fields are kept on receipt and covered by the signature; the publisher refuses them', async () => {
    await fc.assert(
      fc.asyncProperty(
        v2Classification,
        unknownFields,
        fc.jsonValue({ maxDepth: 2 }),
        async (c, extra, other) => {
          const received = receive(ingest(c, 7, extra));
          for (const [k, v] of Object.entries(extra))
            expect(canonicalJson((received as Record<string, unknown>)[k])).toBe(canonicalJson(v));
          expect(await verifies(received)).toBe(true);
          const [key, value] = Object.entries(extra)[0]!;
          const { [key]: _dropped, ...without } = received as Record<string, unknown>;
          expect(await verifies(without as Signal)).toBe(false);
          if (canonicalJson(other) !== canonicalJson(value))
            expect(await verifies({ ...received, [key]: other } as Signal)).toBe(false);
          expect(ClassificationSchema.safeParse({ ...c, ...extra }).success).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the cross-field rules: no action needs a direction, enter needs long or short', () => {
    fc.assert(
      fc.property(v2Classification, fc.constantFrom(...DIRECTIONS), (c, d) => {
        const { direction: _d, action: _a, ...rest } = c;
        expect(ClassificationSchema.safeParse(rest).success).toBe(false);
        expect(ClassificationSchema.safeParse({ ...rest, action: 'enter', direction: d }).success).toBe(
          d !== 'neutral',
        );
      }),
      { numRuns: 100 },
    );
  });

  it('unknown fields are bounded: too deep is refused, and hostile nesting never throws', () => {
    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    const wire = (extra: string) => ingest(v1, 1).replace(/}$/, `,"later":${extra}}`);
    const v1: ClassificationInput = {
      source_id: 's',
      symbol: 'ABCD',
      catalyst: 'fda',
      direction: 'long',
      confidence: 0.5,
      price: 1,
      headline: 'h',
      classified_at: '2026-01-01T00:00:00Z',
    };
    expect(
      SignalSchema.safeParse(JSON.parse(wire(JSON.stringify(deep(UNKNOWN_FIELD_MAX_DEPTH))))).success,
    ).toBe(true);
    expect(
      SignalSchema.safeParse(JSON.parse(wire(JSON.stringify(deep(UNKNOWN_FIELD_MAX_DEPTH + 1))))).success,
    ).toBe(false);
    // 20k levels in 40 KB: zod's z.json() (meta) and canonicalJson would overflow the stack on it.
    const hostile = '['.repeat(20_000) + ']'.repeat(20_000);
    for (const text of [
      `{"type":"signal","signal":${wire(hostile)}}`,
      `{"type":"signal","signal":${wire('1').replace(/}$/, `,"meta":{"a":${hostile}}}`)}}`,
    ])
      expect(parseServerFrame(text)).toMatchObject({ ok: false });
  });
});
