import { statSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { classification, tempDir } from './helpers/server.js';
import { cliKey, dataDir, runCli, spawnServer } from './helpers/cli.js';
import { connect } from './helpers/ws-client.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('catalyst-server CLI', () => {
  it('help never prints a secret taken from the environment', async () => {
    const r = await runCli(['publish', '--help'], {
      env: { CATALYST_PUBLISH_KEY: 'cat_000000000000_supersecret' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('supersecret');
  });

  it('--help lists the commands', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['serve', 'init', 'keys', 'publish', 'db', 'stats']) expect(r.stdout).toContain(c);
  });

  it('init creates dir 0700, signing key 0600, commented config and an admin key; refuses a second time', async () => {
    const dir = path.join(tempDir(), 'data');
    const r = await runCli(['init', '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(dir)).toBe('700');
    expect(mode(path.join(dir, 'signing-key.pem'))).toBe('600');
    const cfg = readFileSync(path.join(dir, 'catalyst-server.json'), 'utf8');
    expect(cfg).toMatch(/\/\/ SQLite synchronous mode/);
    expect(r.stdout).toMatch(/admin\s+admin\s+cat_[0-9a-f]{12}_/);
    expect(r.stdout).toMatch(/fingerprint SHA256:/);
    const again = await runCli(['init', '--data-dir', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already initialised/);
    const key = readFileSync(path.join(dir, 'signing-key.pem'), 'utf8');
    const forced = await runCli(['init', '--data-dir', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(dir, 'signing-key.pem'), 'utf8')).toBe(key); // never overwritten
    expect(forced.stdout).toMatch(/none created/);
    // The generated config is accepted by serve.
    const srv = await spawnServer(dir, ['--config', path.join(dir, 'catalyst-server.json')]);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
  });

  it('keys create/list/revoke, by name; revoke by an ambiguous name asks for the id', async () => {
    const dir = dataDir();
    const created = JSON.parse(
      (await runCli(['keys', 'create', '--data-dir', dir, '--name', 'alice', '--scope', 'read', '--json']))
        .stdout,
    );
    expect(created).toMatchObject({ name: 'alice', scopes: ['read'] });
    expect(created.key).toMatch(/^cat_[0-9a-f]{12}_/);
    await runCli(['keys', 'create', '--data-dir', dir, '--name', 'alice', '--scope', 'read']);
    const list = await runCli(['keys', 'list', '--data-dir', dir]);
    // The secret is everything after `cat_<12 hex>_` (base64url: it may itself contain `_`).
    expect(list.stdout).not.toContain(created.key.slice('cat_000000000000_'.length));
    const ambiguous = await runCli(['keys', 'revoke', '--data-dir', dir, 'alice']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/give the id/);
    expect((await runCli(['keys', 'revoke', '--data-dir', dir, created.id])).code).toBe(0);
    const bad = await runCli(['keys', 'create', '--data-dir', dir, '--name', 'x', '--scope', 'root']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--scope/);
  });

  it('keys list: a header, columns aligned whatever the name lengths, and a labelled last-use time', async () => {
    const dir = dataDir();
    for (const [name, scope] of [
      ['a', 'read'],
      ['a-rather-long-name-for-a-friend', 'publish'],
      ['ops', 'admin'],
      ['ops-2', 'admin'], // the last admin key cannot be revoked
    ] as const)
      await cliKey(dir, name, scope);
    await runCli(['keys', 'rotate', '--data-dir', dir, 'a', '--grace', '1d']); // one key with an expiry
    await runCli(['keys', 'revoke', '--data-dir', dir, 'ops']);
    const out = (await runCli(['keys', 'list', '--data-dir', dir])).stdout.trimEnd().split('\n');
    expect(out[0]).toMatch(/^ID\s+NAME\s+SCOPES\s+STATE\s+SINCE\/UNTIL\s+LAST USED \(±10 s\)$/);
    expect(out).toHaveLength(6);
    // Every column starts where its header does, on every row.
    for (const col of ['NAME', 'SCOPES', 'STATE', 'SINCE/UNTIL', 'LAST USED']) {
      const at = out[0]!.indexOf(col);
      for (const row of out.slice(1)) expect(row[at - 1], `${col} in ${row}`).toBe(' ');
      for (const row of out.slice(1)) expect(row[at], `${col} in ${row}`).not.toBe(' ');
    }
    expect(out.find((r) => / expires /.test(r))).toMatch(
      / expires\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+never$/,
    );
    expect(out.find((r) => / revoked /.test(r))).toMatch(/ ops\s+admin\s+revoked\s+\d{4}-/);
  });

  it('keys rotate: the old key works during the grace period, then stops', async () => {
    const dir = dataDir();
    const old = JSON.parse(
      (await runCli(['keys', 'create', '--data-dir', dir, '--name', 'bot', '--scope', 'read', '--json']))
        .stdout,
    );
    const srv = await spawnServer(dir);
    const get = (key: string) =>
      fetch(`${srv.url}/v1/signals`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    const rot = JSON.parse(
      (await runCli(['keys', 'rotate', '--data-dir', dir, 'bot', '--grace', '2s', '--json'])).stdout,
    );
    expect(rot.old_id).toBe(old.id);
    expect(await get(rot.key)).toBe(200);
    expect(await get(old.key)).toBe(200);
    const until = Date.parse(rot.old_valid_until);
    // Poll (bounded) until the grace period is over; the old key must then be refused.
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, Math.max(50, until - Date.now())));
      status = await get(old.key);
    }
    expect(status).toBe(401);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(await get(rot.key)).toBe(200);
  });

  it('keys signing prints the fingerprint the server serves', async () => {
    const dir = path.join(tempDir(), 'data');
    expect((await runCli(['init', '--data-dir', dir])).code).toBe(0);
    const out = JSON.parse((await runCli(['keys', 'signing', '--data-dir', dir, '--json'])).stdout);
    const srv = await spawnServer(dir);
    const jwks = await (await fetch(`${srv.url}/v1/keys/signing`)).json();
    expect(out.fingerprint).toBe(`SHA256:${jwks.keys[0].kid}`);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
  });

  it('publish reads JSONL and reports accepted / duplicate / rejected per line', async () => {
    const dir = dataDir();
    const key = await cliKey(dir, 'bot', 'publish');
    const srv = await spawnServer(dir);
    const a = classification(1);
    const lines = [
      JSON.stringify(a),
      JSON.stringify(classification(2)),
      'not json',
      JSON.stringify({ ...classification(3), confidence: 7 }),
      JSON.stringify(a),
    ];
    const r = await runCli(['publish', '-', '--url', srv.url, '--key', key, '--batch', '2'], {
      input: lines.join('\n'),
    });
    expect(r.stdout).toMatch(/line 1: accepted seq 1/);
    expect(r.stdout).toMatch(/line 2: accepted seq 2/);
    expect(r.stdout).toMatch(/line 3: rejected \(not JSON\)/);
    expect(r.stdout).toMatch(/line 4: rejected \(1 problem\)\n {2}confidence: /);
    expect(r.stdout).toMatch(/line 5: duplicate seq 1/);
    expect(r.stdout).toMatch(/accepted 2, duplicate 1, rejected 2/);
    expect(r.code).toBe(1);
  });

  it('db backup while ingesting gives a consistent, openable copy; check and stats', async () => {
    const dir = dataDir();
    const key = await cliKey(dir, 'bot', 'publish');
    const srv = await spawnServer(dir);
    let stop = false;
    let acked = 0;
    const ingest = (async () => {
      for (let i = 0; !stop && i < 2000; i++) {
        const res = await fetch(`${srv.url}/v1/signals`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(Array.from({ length: 20 }, (_, j) => classification(i * 20 + j))),
        });
        if (res.status === 201) acked += 20;
      }
    })();
    while (acked < 200) await new Promise((r) => setImmediate(r));
    const file = path.join(tempDir(), 'backup.db');
    const b = await runCli(['db', 'backup', file, '--data-dir', dir]);
    stop = true;
    await ingest;
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    const copy = new Database(file, { readonly: true });
    const { n, lo, hi } = copy.prepare('SELECT count(*) n, min(seq) lo, max(seq) hi FROM signals').get() as {
      n: number;
      lo: number;
      hi: number;
    };
    const head = Number(
      (copy.prepare(`SELECT value FROM meta WHERE key='head_seq'`).get() as { value: string }).value,
    );
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    copy.close();
    expect(n).toBeGreaterThanOrEqual(200);
    expect(lo).toBe(1);
    expect(hi - lo + 1).toBe(n); // contiguous: a consistent snapshot, not a torn one
    expect(head).toBe(hi);
    const check = await runCli(['db', 'check', '--data-dir', dir]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/integrity_check: ok/);
    expect(check.stdout).toMatch(/contiguous: yes/);
    const stats = JSON.parse((await runCli(['stats', '--data-dir', dir, '--json'])).stdout);
    expect(stats.head_seq).toBe(acked);
  });

  it('db prune deletes old rows but the next seq still continues the head', async () => {
    const dir = dataDir();
    const key = await cliKey(dir, 'bot', 'publish');
    const srv = await spawnServer(dir);
    const post = () =>
      fetch(`${srv.url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify(classification()),
      }).then((r) => r.json());
    for (let i = 0; i < 5; i++) await post();
    const pruned = await runCli(['db', 'prune', '--keep-days', '0', '--data-dir', dir]);
    expect(pruned.stdout).toMatch(/deleted 4 signal/);
    expect((await post()).seq).toBe(6);
    expect((await runCli(['db', 'prune', '--keep-days', 'soon', '--data-dir', dir])).code).toBe(2);
  });

  it('SIGTERM: sockets get 1001, in-flight commits finish, exit 0 within 5 s', async () => {
    const dir = dataDir();
    const read = await cliKey(dir, 'r', 'read');
    const pub = await cliKey(dir, 'p', 'publish');
    const srv = await spawnServer(dir);
    const c = connect(`ws://127.0.0.1:${srv.port}`, read);
    await c.frame('hello');
    const acked: number[] = [];
    const posts = Array.from({ length: 20 }, (_, i) =>
      fetch(`${srv.url}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${pub}` },
        body: JSON.stringify(classification(i)),
      })
        .then(async (r) => r.status === 201 && acked.push((await r.json()).seq))
        .catch(() => undefined),
    );
    const t0 = Date.now();
    srv.child.kill('SIGTERM');
    expect(await c.closed()).toBe(1001);
    expect(await srv.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    await Promise.all(posts);
    // Everything acknowledged is in the database.
    const db = new Database(path.join(dir, 'catalyst.db'), { readonly: true });
    for (const seq of acked)
      expect(db.prepare('SELECT seq FROM signals WHERE seq = ?').get(seq)).toBeTruthy();
    db.close();
  });
});
