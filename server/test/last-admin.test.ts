import path from 'node:path';
import { expect, it } from 'vitest';
import { openDb } from '../src/store/db.js';
import { KeyStore } from '../src/store/keys.js';
import { cliKey, dataDir, runCli, spawnServer, type ServerProcess } from './helpers/cli.js';
import { startTestServer, tempDir } from './helpers/server.js';

const idOf = (key: string) => key.split('_')[1]!;
const LISTENING = /catalyst-server listening on /;

async function startedText(p: ServerProcess): Promise<string> {
  await expect.poll(() => p.stderr(), { timeout: 10_000 }).toMatch(LISTENING);
  return p.stderr();
}

async function stop(p: ServerProcess): Promise<void> {
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}

it('REST: revoking the last admin key is a 409 problem; with a second admin key it is allowed', async () => {
  const t = await startTestServer();
  const del = (id: string, admin = t.adminKey) =>
    fetch(`${t.url}/v1/admin/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
  const res = await del(idOf(t.adminKey));
  expect(res.status).toBe(409);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { code: string; title: string; detail: string };
  expect(body).toMatchObject({ code: 'conflict', title: 'Conflict' });
  expect(body.detail).toMatch(/is the last admin key: create another admin key first/);
  // Still works: nothing was revoked.
  expect((await t.get('/v1/admin/keys', t.adminKey)).status).toBe(200);

  const created = await fetch(`${t.url}/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ops-2', scopes: ['admin'] }),
  });
  expect(created.status).toBe(201);
  const second = ((await created.json()) as { key: string }).key;
  expect((await del(idOf(t.adminKey))).status).toBe(204);
  // Now the second one is the last; other keys are revoked as before.
  expect((await del(idOf(second), second)).status).toBe(409);
  expect((await del(idOf(t.readKey), second)).status).toBe(204);
});

it('CLI: keys revoke refuses the last admin key in one line (exit 2); an expired admin does not count', async () => {
  const dir = dataDir();
  const admin = await cliKey(dir, 'ops', 'admin');
  await cliKey(dir, 'friend', 'read');
  const r = await runCli(['keys', 'revoke', '--data-dir', dir, 'ops']);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    `catalyst-server: key ${idOf(admin)} (ops) is the last admin key: create another admin key first (keys create --scope admin), then revoke this one\n`,
  );
  // A second admin key that has expired is no way back either.
  const old = await cliKey(dir, 'old-ops', 'admin');
  const db = openDb(dir);
  new KeyStore(db).expireAt(idOf(old), new Date(Date.now() - 1000));
  db.close();
  expect((await runCli(['keys', 'revoke', '--data-dir', dir, 'ops'])).code).toBe(2);
  expect((await runCli(['keys', 'revoke', '--data-dir', dir, 'friend'])).code).toBe(0);
});

it('keys are printed only by the start that creates the data directory, never because no admin key is left', async () => {
  // A data directory whose database exists (made by an earlier start) but holds no admin key at all.
  const dir = dataDir();
  const first = await spawnServer(dir);
  expect(await startedText(first)).not.toMatch(/Created API keys|cat_[0-9a-f]{12}_/);
  await stop(first);

  // A fresh directory: keys once; then every admin key is gone behind the server's back (as the REST API
  // allowed before): the next start still prints none.
  const fresh = path.join(tempDir(), 'fresh');
  const a = await spawnServer(fresh);
  expect(await startedText(a)).toMatch(/Created API keys/);
  await stop(a);
  const db = openDb(fresh);
  const keys = new KeyStore(db);
  for (const k of keys.list()) keys.revoke(k.id);
  db.close();
  const b = await spawnServer(fresh);
  expect(await startedText(b)).not.toMatch(/Created API keys|cat_[0-9a-f]{12}_/);
  await stop(b);
});
