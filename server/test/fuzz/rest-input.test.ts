import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dbCheck } from '../../src/commands/db.js';
import { rawHttp } from '../helpers/raw-http.js';
import { classification, startTestServer, type TestServer } from '../helpers/server.js';

/** Limits high enough that the fuzz reaches the handlers (limits have their own tests). */
const fuzzServer = () =>
  startTestServer({
    rest_read_per_min: 1_000_000,
    rest_publish_per_min: 1_000_000,
    auth_failures_per_min: 1_000_000,
  });

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** Bodies: valid, almost valid, hostile. Text, so `__proto__` stays an own key and nesting is exact. */
const bodyText = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 100 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.nat().map((i) => JSON.stringify(classification(i))),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom(
        'source_id',
        'symbol',
        'catalyst',
        'direction',
        'confidence',
        'price',
        'headline',
        'url',
        'classified_at',
        'meta',
        'extra',
        '__proto__',
        'constructor',
      ),
      fc.jsonValue({ maxDepth: 3 }),
    )
    .map(([i, k, v]) => JSON.stringify({ ...classification(i), [k]: v })),
  fc.nat().map((i) => JSON.stringify(classification(i)).replace(/}$/, ',"__proto__":{"polluted":1}}')),
  fc
    .nat()
    .map((i) =>
      JSON.stringify({ ...classification(i), meta: { a: 1 } }).replace(
        '"meta":{"a":1}',
        '"meta":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
      ),
    ),
  fc
    .nat({ max: 30_000 })
    .map((n) =>
      JSON.stringify({ ...classification(n), meta: { a: 0 } }).replace(
        '"meta":{"a":0}',
        `"meta":{"a":${deep(n)}}`,
      ),
    ),
  fc.nat({ max: 200_000 }).map((n) => deep(n)),
  fc
    .array(fc.nat(), { maxLength: 5 })
    .map((is) => JSON.stringify(is.map((i) => (i % 3 === 0 ? { bad: i } : classification(i))))),
  fc.constantFrom('[]', '{}', 'null', '[[]]', '{"a":1}garbage', '\ufeff{}', '{"source_id":"x"'),
);

const queryText = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'after_seq',
        'limit',
        'symbol',
        'catalyst',
        'min_confidence',
        'since',
        'until',
        'unknown',
        '',
        '__proto__',
      ),
      fc.oneof(
        fc.constantFrom(
          '-1',
          'NaN',
          '1e999',
          '99999999999999999999',
          '9007199254740993',
          '0',
          '1',
          '1000',
          '1001',
          '',
          '%00',
          'Infinity',
          '0x10',
          '+1',
          ' 1',
          '1.5',
          '2024-01-01T00:00:00Z',
          'not-a-date',
          '%E0%A4%A',
          '%',
        ),
        fc.string({ maxLength: 40 }).map(encodeURIComponent),
      ),
    ),
    { maxLength: 5 },
  )
  .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join('&'));

const pathText = fc.oneof(
  fc.constantFrom(
    '/v1/signals',
    '/v1/admin/keys',
    '/healthz',
    '/readyz',
    '/metrics',
    '/v1/keys/signing',
    '/v1/stream',
    '/',
    '/v1',
    '/v1/signals/',
    '/v1/admin/keys/',
  ),
  fc
    .constantFrom(
      '0',
      '-1',
      'abc',
      '1e3',
      '99999999999999999',
      '%2e%2e',
      '1',
      '00001',
      '1.0',
      '%00',
      '..%2f..%2fetc',
    )
    .map((p) => `/v1/signals/${p}`),
  fc.string({ maxLength: 20 }).map((p) => `/v1/admin/keys/${encodeURIComponent(p)}`),
  fc.string({ maxLength: 30 }).map((p) => `/${encodeURIComponent(p)}`),
);

type KeyKind = 'none' | 'read' | 'publish' | 'admin' | 'garbage' | 'empty' | 'basic' | 'lower';
const authHeader = (t: TestServer, k: KeyKind): string | undefined =>
  ({
    none: undefined,
    read: `Bearer ${t.readKey}`,
    publish: `Bearer ${t.publishKey}`,
    admin: `Bearer ${t.adminKey}`,
    garbage: 'Bearer cat_000000000000_' + 'A'.repeat(43),
    empty: 'Bearer ',
    basic: 'Basic dXNlcjpwYXNz',
    lower: `bearer ${t.publishKey}`,
  })[k];

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  path: pathText,
  query: queryText,
  key: fc.constantFrom<KeyKind>('none', 'read', 'publish', 'admin', 'garbage', 'empty', 'basic', 'lower'),
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'text/plain',
    'application/x-www-form-urlencoded',
    '',
    'application/jsonx',
    'multipart/form-data; boundary=x',
  ),
  body: bodyText,
});

/** Every error answer must be problem+json with a stable code and a matching status; never a 5xx. */
async function expectWellFormed(res: Response, label: string): Promise<string> {
  const text = await res.text();
  expect(res.status, `${label} -> ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), label).toBe('application/problem+json');
    const p = JSON.parse(text) as { code?: unknown; status?: unknown };
    expect(typeof p.code, label).toBe('string');
    expect(p.status, label).toBe(res.status);
  }
  return text;
}

async function stillHealthy(t: TestServer): Promise<void> {
  expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  expect((await t.post(classification())).status).toBe(201);
  const check = dbCheck({ dataDir: t.dataDir });
  expect(check.ok, check.lines.join('\n')).toBe(true);
}

describe('REST bad input (fast-check)', () => {
  it('random method x endpoint x credentials x content type x body x query: problem+json, never a 5xx', async () => {
    const t = await fuzzServer();
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        const auth = authHeader(t, r.key);
        if (auth) headers.authorization = auth;
        if (r.contentType) headers['content-type'] = r.contentType;
        const url = `${t.url}${r.path}${r.query ? `?${r.query}` : ''}`;
        const res = await fetch(url, {
          method: r.method,
          headers,
          body: r.method === 'GET' ? undefined : r.body,
        });
        const text = await expectWellFormed(
          res,
          `${r.method} ${r.path}?${r.query} [${r.key}, ${r.contentType}] ${r.body.slice(0, 120)}`,
        );
        if (r.method === 'POST' && r.path === '/v1/signals' && res.status < 300) {
          const b = JSON.parse(text) as { duplicate?: boolean; results?: { duplicate: boolean }[] };
          stored += b.results ? b.results.filter((x) => !x.duplicate).length : b.duplicate ? 0 : 1;
        }
      }),
      { numRuns: 400 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Exactly what was acknowledged is stored: no half-accepted batch.
    expect(t.server.driver.store.head).toBe(stored);
    await stillHealthy(t);
  });

  it('deeply nested JSON (in meta, in a batch, as the whole body) is a 400, not a stack overflow 500', async () => {
    const t = await fuzzServer();
    for (const n of [5, 100, 5_000, 30_000]) {
      const one = JSON.stringify({ ...classification(n), meta: { a: 0 } }).replace(
        '"meta":{"a":0}',
        `"meta":{"a":${deep(n)}}`,
      );
      const res = await t.post(one);
      await expectWellFormed(res, `meta depth ${n}`);
      expect(res.status, `meta depth ${n}`).toBe(400);
      const batch = await t.post(`[${one}]`);
      await expectWellFormed(batch, `batch meta depth ${n}`);
      expect(batch.status).toBe(400);
    }
    const whole = await t.post(deep(400_000));
    await expectWellFormed(whole, 'whole body nested');
    expect(t.server.driver.store.head).toBe(0);
    await stillHealthy(t);
  });

  it('invalid query values: 400 problem+json naming the parameter', async () => {
    const t = await fuzzServer();
    const cases = [
      'after_seq=-1',
      'after_seq=NaN',
      'after_seq=1e3',
      'after_seq=99999999999999999',
      'after_seq=',
      'limit=0',
      'limit=-5',
      'limit=1001',
      'limit=NaN',
      'limit=1&limit=2',
      'min_confidence=2',
      'since=yesterday',
      'nope=1',
      'after_seq=%00',
    ];
    for (const q of cases) {
      const res = await t.get(`/v1/signals?${q}`);
      const text = await expectWellFormed(res, q);
      expect(res.status, q).toBe(400);
      const p = JSON.parse(text) as { code: string; errors: { path: string }[] };
      expect(p.code).toBe('validation_failed');
      expect(p.errors.length, q).toBeGreaterThan(0);
    }
    // Valid extremes are fine: a huge after_seq is just past the head.
    const far = await t.get('/v1/signals?after_seq=9007199254740991&limit=1000');
    expect(far.status).toBe(200);
    expect(await far.json()).toMatchObject({ signals: [], head_seq: 0 });
  });

  it('duplicated headers, lying lengths, chunked and malformed requests on a raw socket: 4xx or a closed socket, never a 5xx', async () => {
    const t = await fuzzServer();
    const port = t.server.port;
    const body = JSON.stringify(classification());
    const req = (head: string[], b = '') => [...head, '', b].join('\r\n');
    const post = (extra: string[], b = body, cl = Buffer.byteLength(b)) =>
      req(['POST /v1/signals HTTP/1.1', 'Host: x', `Content-Length: ${cl}`, ...extra], b);
    // 'any': uWS may accept it (e.g. it has no header size limit of its own); only a 5xx would be wrong.
    const cases: [string, string, number[] | 'closed-or-4xx' | 'any'][] = [
      [
        'duplicated Authorization',
        post([
          `Authorization: Bearer ${t.publishKey}`,
          `Authorization: Bearer ${t.readKey}`,
          'Content-Type: application/json',
        ]),
        [400],
      ],
      [
        'duplicated Content-Type',
        post([
          `Authorization: Bearer ${t.publishKey}`,
          'Content-Type: application/json',
          'Content-Type: text/plain',
        ]),
        [400],
      ],
      ['no Content-Type', post([`Authorization: Bearer ${t.publishKey}`]), [415]],
      [
        'Content-Length 10^12',
        post([`Authorization: Bearer ${t.publishKey}`, 'Content-Type: application/json'], body, 1e12),
        'closed-or-4xx',
      ],
      [
        'Content-Length negative',
        post([`Authorization: Bearer ${t.publishKey}`, 'Content-Type: application/json'], body, -1),
        'closed-or-4xx',
      ],
      [
        'Content-Length and chunked',
        req(
          [
            'POST /v1/signals HTTP/1.1',
            'Host: x',
            `Authorization: Bearer ${t.publishKey}`,
            'Content-Type: application/json',
            'Content-Length: 5',
            'Transfer-Encoding: chunked',
          ],
          '0\r\n\r\n',
        ),
        'closed-or-4xx',
      ],
      [
        'broken chunked',
        req(
          [
            'POST /v1/signals HTTP/1.1',
            'Host: x',
            `Authorization: Bearer ${t.publishKey}`,
            'Content-Type: application/json',
            'Transfer-Encoding: chunked',
          ],
          'zz\r\nabc\r\n0\r\n\r\n',
        ),
        'closed-or-4xx',
      ],
      [
        'header 64 KB',
        req(['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(64 * 1024)}`], ''),
        'any',
      ],
      [
        '1000 headers',
        req(
          ['GET /healthz HTTP/1.1', 'Host: x', ...Array.from({ length: 1000 }, (_, i) => `X-H${i}: v`)],
          '',
        ),
        'any',
      ],
      ['garbage request line', 'BLAH\r\n\r\n', 'closed-or-4xx'],
      ['binary junk', '\x00\x01\x02\xff\xfe\r\n\r\n', 'closed-or-4xx'],
      ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'closed-or-4xx'],
      [
        'Authorization with control chars',
        req(['GET /v1/signals HTTP/1.1', 'Host: x', `Authorization: Bearer ${t.readKey}\x01`], ''),
        'closed-or-4xx',
      ],
      [
        'absolute-form target',
        req([`GET http://evil/v1/signals HTTP/1.1`, 'Host: x', `Authorization: Bearer ${t.readKey}`], ''),
        'closed-or-4xx',
      ],
    ];
    const outcomes: string[] = [];
    // Concurrently: garbage may leave uWS waiting for the rest of a request (its own idle timeout ends
    // that), which is allowed for the malformed cases as long as nobody else is affected (checked below).
    const answers = await Promise.all(
      cases.map(([, raw, want]) =>
        rawHttp(port, raw, want === 'closed-or-4xx' ? 1000 : 5000).catch((e: Error) => {
          if (want !== 'closed-or-4xx') throw e;
          return 'waits' as const;
        }),
      ),
    );
    for (const [i, [name, , want]] of cases.entries()) {
      const r = answers[i];
      outcomes.push(`${name}: ${r === 'waits' ? r : (r?.status ?? 'closed')}`);
      if (r === 'waits') continue;
      if (want === 'any') {
        if (r) expect(r.status, name).toBeLessThan(500);
      } else if (want === 'closed-or-4xx') {
        if (r) expect(r.status, `${name}: ${r.status} ${r.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        if (r) expect(r.status, name).toBeLessThan(500);
      } else {
        expect(r, name).toBeDefined();
        expect(want, `${name}: ${r!.status} ${r!.body}`).toContain(r!.status);
        expect(r!.headers['content-type'], name).toBe('application/problem+json');
        expect(typeof (JSON.parse(r!.body) as { code: unknown }).code).toBe('string');
      }
    }
    console.log(`[fuzz] raw HTTP -> ${outcomes.join('; ')}`);
    // A body that never finishes holds only its own request: everyone else is served meanwhile.
    const hanging = rawHttp(
      port,
      post(
        [`Authorization: Bearer ${t.publishKey}`, 'Content-Type: application/json'],
        body.slice(0, 10),
        body.length,
      ),
      800,
    ).catch(() => 'hung');
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await hanging).toBe('hung');
    expect(t.server.driver.store.head).toBe(0);
    await stillHealthy(t);
  });

  it('HEAD and OPTIONS on every endpoint: no 5xx', async () => {
    const t = await fuzzServer();
    for (const p of [
      '/v1/signals',
      '/v1/signals/1',
      '/v1/admin/keys',
      '/healthz',
      '/readyz',
      '/metrics',
      '/v1/keys/signing',
    ]) {
      for (const method of ['HEAD', 'OPTIONS']) {
        const res = await fetch(`${t.url}${p}`, {
          method,
          headers: { authorization: `Bearer ${t.adminKey}` },
        });
        expect(res.status, `${method} ${p}`).toBeLessThan(500);
      }
    }
  });
});
