import { CloseCode } from '@catalyst-signal/shared';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/server.js';

const SNAKE = /^[a-z0-9]+(_[a-z0-9]+)*$/;

describe('error shapes', () => {
  it('405 carries an Allow header listing the methods the path has', async () => {
    const t = await startTestServer();
    const put = await fetch(`${t.url}/v1/signals`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect((await put.json()).code).toBe('method_not_allowed');
    const del = await fetch(`${t.url}/healthz`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET');
    const patch = await fetch(`${t.url}/v1/admin/keys/abc`, { method: 'PATCH' });
    expect(patch.headers.get('allow')).toBe('DELETE');
  });

  it('404 uses the same problem type scheme as every other error', async () => {
    const t = await startTestServer();
    const nope = await fetch(`${t.url}/nope?x=1`);
    expect(nope.status).toBe(404);
    expect(nope.headers.get('content-type')).toBe('application/problem+json');
    const body = await nope.json();
    const missing = await (await t.get('/v1/signals/99')).json();
    expect(body.type).toBe(missing.type);
    expect(body).toMatchObject({ status: 404, code: 'not_found', title: 'Not found', instance: '/nope' });
    expect(typeof body.detail).toBe('string');
  });

  it('close reasons and ws close metric labels are snake_case', async () => {
    for (const [name, c] of Object.entries(CloseCode)) expect(c.reason, name).toMatch(SNAKE);
    // Every label the stream passes to the close metric, read from its source.
    const src = readFileSync(new URL('../src/ws/stream.ts', import.meta.url), 'utf8');
    const labels = [...src.matchAll(/this\.end\([^,]+,\s*[^,]+,\s*'([^']+)'\)/g)].map((m) => m[1]!);
    const ternary = [...src.matchAll(/this\.end\([^;]*\?\s*'([^']+)'\s*:\s*'([^']+)'/g)].flatMap((m) => [
      m[1]!,
      m[2]!,
    ]);
    expect(labels.length).toBeGreaterThan(5);
    for (const l of [...labels, ...ternary]) expect(l).toMatch(SNAKE);
  });

  it('npm pack tarballs are ignored by git', () => {
    const ignore = readFileSync(new URL('../../.gitignore', import.meta.url), 'utf8').split('\n');
    expect(ignore).toContain('*.tgz');
  });
});
