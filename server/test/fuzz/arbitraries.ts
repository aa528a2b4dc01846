import fc from 'fast-check';
import { UNSAFE_TEXT_RE } from '@catalyst-signal/shared';

/** Keys that hurt naive code: prototype pollution and shadowed builtins. */
const NASTY_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'type',
  '',
];

const deep = (open: string, close: string, n: number) => open.repeat(n) + close.repeat(n);

/** Hand-written inputs each of which once broke some server somewhere. */
export const TRICKY_JSON_TEXTS = [
  '',
  ' ',
  'null',
  'true',
  '0',
  '"ping"',
  '[]',
  '{}',
  '{"type":null}',
  '{"type":"subscribe","from_seq":1e309}',
  '{"type":"subscribe","from_seq":-1}',
  '{"type":"subscribe","from_seq":"1"}',
  '{"type":"subscribe","from_seq":1.5}',
  '{"type":"subscribe","from_seq":9007199254740993}',
  '{"type":"subscribe","from_seq":0,"epoch":""}',
  '{"type":"subscribe","filters":{"symbols":[]}}',
  '{"type":"subscribe","filters":{"min_confidence":"NaN"}}',
  `{"type":"subscribe","filters":{"symbols":${JSON.stringify(Array.from({ length: 300 }, (_, i) => `S${i}`))}}}`,
  '{"type":"ping","id":{"__proto__":{"polluted":1}}}',
  '{"__proto__":{"type":"ping"}}',
  '{"type":"ping","__proto__":{"polluted":1}}',
  '{"type":"ping","constructor":{"prototype":{"polluted":1}}}',
  '{"type":"auth","token":""}',
  `{"type":"auth","token":"${'x'.repeat(5000)}"}`,
  '{"type":"ping","id":"\\ud800"}',
  '{"type":"ping","id":"\\u0000"}',
  '\ufeff{"type":"ping"}',
  '{"type":"ping"}garbage',
  '{"type":"ping"',
  '{"type":"ping","type":"subscribe","from_seq":0}',
  '{"type":"PING"}',
  '{"type":"hello"}',
  '{"type":"signal","signal":{}}',
  deep('[', ']', 7000),
  `{"type":"ping","id":${deep('{"a":', '}', 1500).replace(/}+$/, (m) => '1' + m)}}`,
  `{"type":"subscribe","filters":${deep('[', ']', 5000)}}`,
];

const jsonText = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v));

/** An object text with nasty keys and frame-ish values, built as text so `__proto__` stays an own key. */
const nastyObject = fc
  .array(
    fc.tuple(
      fc.constantFrom(...NASTY_KEYS, 'from_seq', 'epoch', 'filters', 'id', 'token'),
      fc.jsonValue({ maxDepth: 3 }),
    ),
    { maxLength: 6 },
  )
  .map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);

/** Frames with a real type and random members. */
const frameish = fc
  .record(
    {
      type: fc.constantFrom(
        'auth',
        'subscribe',
        'ping',
        'hello',
        'pong',
        'signal',
        'Subscribe',
        'subscribe ',
        '',
      ),
      from_seq: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.nat({ max: 50 })),
      epoch: fc.oneof(fc.string({ maxLength: 80 }), fc.integer()),
      filters: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            symbols: fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }),
            directions: fc.array(fc.constantFrom('long', 'short', 'up')),
          },
          { requiredKeys: [] },
        ),
      ),
      id: fc.oneof(fc.string({ maxLength: 80 }), fc.integer(), fc.jsonValue({ maxDepth: 2 })),
      token: fc.string({ maxLength: 100 }),
    },
    { requiredKeys: ['type'] },
  )
  .map((o) => JSON.stringify(o));

/** Any text a client might send (valid frames included), always under `maxBytes` UTF-8 bytes. */
export function wsText(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: frameish },
      { weight: 2, arbitrary: nastyObject },
      { weight: 2, arbitrary: jsonText },
      { weight: 2, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
      { weight: 2, arbitrary: fc.constantFrom(...TRICKY_JSON_TEXTS) },
    )
    .filter((s) => Buffer.byteLength(s) <= maxBytes);
}

/** Byte sequences that are not valid UTF-8. */
export const INVALID_UTF8: Buffer[] = [
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xa0, 0xa1]),
  Buffer.from([0xe2, 0x28, 0xa1]),
  Buffer.from([0xf0, 0x28, 0x8c, 0xbc]),
  Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate encoded in UTF-8
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.concat([Buffer.from('{"type":"ping","id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
];

/**
 * Numbers that print differently across JSON libraries (exponent boundaries, subnormals, 2^53 and above, -0):
 * what a non-JavaScript verifier of the RFC 8785 signature payload gets wrong first.
 */
export const NASTY_NUMBERS = [
  1e-8,
  0.00002,
  0.000001,
  1e-7,
  1.5e-7,
  5e-324,
  2.2250738585072014e-308,
  0.1,
  0.3,
  4.35,
  41.2,
  1,
  1.0000000000000002,
  0.30000000000000004,
  333333333.3333333,
  1e20,
  1e21,
  1e23,
  // Above 2^53 (spelled as text: these literals round, which is the point): ...993 is the double ...992.
  Number('9007199254740993'),
  Number('18014398509481985'),
  1.7976931348623157e308,
];

/** Strings with escapes, controls, astral characters and U+2028, all well-formed (no lone surrogates). */
export const NASTY_STRINGS = [
  'Caf\u00e9 \u20ac5 \ud83d\ude80',
  '"quoted" back\\slash / tab\tnl\ncr\r bs\b ff\f',
  'nul\u0000 us\u001f del\u007f nbsp\u00a0 ls\u2028 ps\u2029',
  '\ufb33\ud83d\ude00\uffff\ud800\udc00',
  '<script>&amp;</script>',
];

const positive = fc.oneof(
  fc.constantFrom(...NASTY_NUMBERS),
  fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true, noDefaultInfinity: true }),
);
const anyNumber = fc.oneof(
  positive,
  positive.map((n) => -n),
  fc.constant(-0),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const text = (maxLength: number) =>
  fc.oneof(
    fc.constantFrom(...NASTY_STRINGS),
    fc.string({ minLength: 1, maxLength, unit: 'binary' }),
    fc.string({ minLength: 1, maxLength, unit: 'grapheme' }),
  );
/** Free text as ingest takes it (docs/protocol.md): the nasty strings with their controls, bidi and invisible characters spelled as '?'. */
const UNSAFE_TEXT_ALL = new RegExp(UNSAFE_TEXT_RE.source, 'gu');
const freeText = (maxLength: number) => text(maxLength).map((s) => s.replace(UNSAFE_TEXT_ALL, '?'));
const metaValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyNumber,
    text(40),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(text(20), tie('v'), { maxKeys: 4 }),
  ),
}));

/**
 * Valid classifications (as a publisher would POST them) whose numbers and strings are the nasty ones above (text
 * fields without the characters ingest refuses; meta keeps them all); `id` makes source_id unique.
 */
export function signalClassification(id: fc.Arbitrary<string>) {
  return fc.record(
    {
      source_id: id,
      symbol: fc.constantFrom('MRNA', 'BTC', 'brk.b', 'ETH/USDT', 'X:Y_Z-1'),
      catalyst: fc.constantFrom('fda', 'earnings', 'merger', 'other', 'custom_slug-2'),
      direction: fc.constantFrom('long', 'short', 'neutral'),
      confidence: fc.oneof(
        fc.constantFrom(0, 1, 1e-8, 0.00002, 0.5),
        fc.double({ min: 0, max: 1, noNaN: true }),
      ),
      score: anyNumber,
      price: positive,
      headline: freeText(200),
      source: freeText(50),
      classified_at: fc.constantFrom('2026-11-21T14:03:07Z', '2026-11-21T14:03:07.123+02:00'),
      stop_loss: positive,
      take_profit: positive,
      meta: fc.dictionary(fc.string({ maxLength: 64, unit: 'binary' }), metaValue.v, { maxKeys: 8 }),
    },
    {
      requiredKeys: [
        'source_id',
        'symbol',
        'catalyst',
        'direction',
        'confidence',
        'price',
        'headline',
        'classified_at',
      ],
    },
  );
}
