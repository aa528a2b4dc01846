import { describe, expect, it } from 'vitest';
import { SignalSchema, type Classification } from '@catalyst-signal/shared';
import { summarise } from '../src/status/recent.js';
import { classification, startTestServer } from './helpers/server.js';

/**
 * Free text a publisher sends (headline, source, url) may carry no control, bidi or invisible character:
 * a person reading the status page or a terminal would be misled ("Buy exe.png" built with an RTL override, an
 * ESC sequence that rewrites the terminal line). Refused at ingest with the field named; a signal stored before
 * this rule is still served and verifiable as stored, and shown escaped.
 */
const CLASSES: [string, string][] = [
  ['NUL (C0)', 'a\u0000b'],
  ['ESC (C0)', 'red \u001b[31malert'],
  ['line feed (C0)', 'two\nlines'],
  ['DEL', 'a\u007fb'],
  ['NEL (C1)', 'a\u0085b'],
  ['CSI (C1)', 'a\u009b2Jb'],
  ['RTL override', 'Buy \u202egnp.exe'],
  ['bidi isolate', 'a\u2066b\u2069'],
  ['RTL mark', 'a\u200fb'],
  ['zero-width space', 'FD\u200bA approves'],
  ['byte order mark', '\ufeffheadline'],
  ['line separator', 'a\u2028b'],
];

describe('POST /v1/signals refuses control, bidi and invisible characters in text fields', () => {
  it.each(CLASSES)('%s: 400 naming the field, in headline, source and url', async (_name, text) => {
    const t = await startTestServer();
    for (const [field, value] of [
      ['headline', text],
      ['source', text],
      ['url', `https://example.com/${text}`],
    ] as const) {
      const res = await t.post(classification(1, { [field]: value }));
      expect(res.status, `${field}: ${JSON.stringify(value)}`).toBe(400);
      const p = (await res.json()) as { code: string; errors: { path: string; message: string }[] };
      expect(p.code).toBe('validation_failed');
      expect(p.errors).toContainEqual({
        path: field,
        message: 'control, bidi or invisible characters are not allowed',
      });
    }
    expect((await (await t.get('/v1/signals')).json()).signals).toEqual([]);
  });

  it('accepts ordinary text in any script, emoji with joiners included', async () => {
    const t = await startTestServer();
    const headline = 'Café 🚀 👩‍🔬 «FDA» שלום مرحبا 東京 — approves';
    const res = await t.post(classification(2, { headline, source: 'Börse' }));
    expect(res.status).toBe(201);
    const { seq } = (await res.json()) as { seq: number };
    expect((await (await t.get(`/v1/signals/${seq}`)).json()).headline).toBe(headline);
  });

  it('still serves a signal stored before the rule as stored (signed as is), and the status page gets it escaped', async () => {
    const t = await startTestServer();
    const old = { ...classification(3), headline: 'Buy \u202egnp.exe \u001b[2J now' } as Classification;
    // The sequencer stores what it is given: this is what a database written by an earlier version holds.
    const [r] = await t.server.driver.sequencer.submit([old]);
    const served = await (await t.get(`/v1/signals/${r!.seq}`)).json();
    expect(served.headline).toBe(old.headline);
    // A client receiving it neither refuses it nor halts (SignalSchema is lenient on text it did not ingest).
    expect(SignalSchema.safeParse(served).success).toBe(true);
    expect(summarise(served).headline).toBe('Buy \\u202egnp.exe \\u001b[2J now');
  });
});
