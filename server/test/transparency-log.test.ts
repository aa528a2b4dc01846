import { describe, expect, it } from 'vitest';
import {
  MemoryTree,
  ed25519Verifier,
  ed25519VerifierKey,
  openCheckpoint,
  toBase64,
  utf8Bytes,
  verifyConsistency,
  verifyTlogProof,
  type Checkpoint,
  type NoteVerifier,
} from '@catalyst-signal/shared';
import { sha256 } from '../src/log/tlog-crypto.js';
import { ed25519Verify } from './helpers/ed25519.js';
import { openDb } from '../src/store/db.js';
import { pollUntil } from './helpers/nats-cluster.js';
import { classification, startTestServer, tempDir, type TestServer } from './helpers/server.js';

const ORIGIN = 'catalyst.test/signals';

/** The verifier a friend pins: built from the server's existing signing key (its JWKS), not from the server's say-so. */
function verifierOf(t: TestServer, origin = ORIGIN): NoteVerifier {
  const x = (t.server.signer!.publicJwk as { x: string }).x;
  const vkey = ed25519VerifierKey(sha256, origin, new Uint8Array(Buffer.from(x, 'base64url')));
  expect(t.server.driver.transparency!.vkey).toBe(vkey);
  return ed25519Verifier(sha256, vkey, ed25519Verify);
}

/** Polls the checkpoint until it covers `size` signals; returns it opened (signature checked). */
async function checkpointCovering(t: TestServer, size: number, v: NoteVerifier, origin = ORIGIN) {
  return pollUntil(
    `a checkpoint covering ${size}`,
    async () => {
      const res = await t.get('/v1/log/checkpoint');
      if (res.status !== 200) return undefined;
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      const note = await res.text();
      const { checkpoint } = openCheckpoint(note, origin, [v]);
      return checkpoint.size >= size ? { note, checkpoint } : undefined;
    },
    10_000,
    20,
  );
}

/** The whole history as served (the leaves), rebuilt into a tree independently of the server's hashes. */
async function servedTree(t: TestServer): Promise<{ tree: MemoryTree; leaves: string[] }> {
  const page = (await (await t.get('/v1/signals?after_seq=0&limit=1000')).json()) as { signals: unknown[] };
  const tree = new MemoryTree(sha256);
  const leaves: string[] = [];
  for (let seq = 1; seq <= page.signals.length; seq++) {
    const raw = await (await t.get(`/v1/signals/${seq}`)).text();
    leaves.push(raw);
    tree.append(utf8Bytes(raw));
  }
  return { tree, leaves };
}

const consistentWith = (tree: MemoryTree, a: Checkpoint, b: Checkpoint) =>
  a.size === 0 ||
  verifyConsistency(sha256, a.size, b.size, a.rootHash, b.rootHash, tree.consistency(a.size, b.size));

describe('transparency log on the single-node server (GET /v1/log/checkpoint, /v1/log/proof/<seq>)', () => {
  it('signs checkpoints with the server key; every signal has a proof that verifies offline; checkpoints agree', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    const v = verifierOf(t);
    for (let i = 0; i < 5; i++) expect((await t.post(classification())).status).toBe(201);
    const first = await checkpointCovering(t, 5, v);
    await t.post([classification(), classification(), classification()]);
    for (let i = 0; i < 4; i++) await t.post(classification());
    const second = await checkpointCovering(t, 12, v);

    const { tree, leaves } = await servedTree(t);
    // The server's roots are the roots of what it serves, hashed by us.
    expect(toBase64(first.checkpoint.rootHash)).toBe(toBase64(tree.root(first.checkpoint.size)));
    expect(toBase64(second.checkpoint.rootHash)).toBe(toBase64(tree.root(second.checkpoint.size)));
    expect(consistentWith(tree, first.checkpoint, second.checkpoint)).toBe(true);

    for (let seq = 1; seq <= 12; seq++) {
      const res = await t.get(`/v1/log/proof/${seq}`);
      expect(res.status).toBe(200);
      const file = await res.text();
      expect(file.startsWith(`c2sp.org/tlog-proof@v1\nindex ${seq - 1}\n`)).toBe(true);
      const leaf = utf8Bytes(leaves[seq - 1]!);
      expect(verifyTlogProof(sha256, file, leaf, ORIGIN, [v]).index).toBe(seq - 1);
      // The same file does not prove a different signal.
      expect(() => verifyTlogProof(sha256, file, utf8Bytes(leaves[seq % 12]!), ORIGIN, [v])).toThrow();
    }
    expect((await t.get('/v1/log/proof/13')).status).toBe(404);
    expect((await t.get('/v1/log/proof/0')).status).toBe(400);
    expect((await t.get('/v1/log/proof/x')).status).toBe(400);
    expect((await fetch(`${t.url}/v1/log/checkpoint`)).status).toBe(401);
  });

  it('at most one checkpoint per interval: a signal after the last one is answered 503 until the next', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 60_000 } });
    const v = verifierOf(t);
    // The empty log's checkpoint is signed at start: size 0, root SHA-256("").
    const empty = await checkpointCovering(t, 0, v);
    expect(toBase64(empty.checkpoint.rootHash)).toBe(toBase64(sha256(new Uint8Array(0))));
    await t.post(classification());
    const res = await t.get('/v1/log/proof/1');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.text()).toMatch(/not in a signed checkpoint yet/);
  });

  it('GET /v1/log/consistency proves any signed checkpoint a prefix of a later one; out of range is 400', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    const v = verifierOf(t);
    for (let i = 0; i < 3; i++) await t.post(classification());
    const first = await checkpointCovering(t, 3, v);
    for (let i = 0; i < 4; i++) await t.post(classification());
    const second = await checkpointCovering(t, 7, v);
    const [m, n] = [first.checkpoint.size, second.checkpoint.size];
    const res = await t.get(`/v1/log/consistency?from=${m}&to=${n}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const proof = (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => new Uint8Array(Buffer.from(l, 'base64')));
    expect(proof.length).toBeGreaterThan(0);
    const ok = (p: Uint8Array[]) =>
      verifyConsistency(sha256, m, n, first.checkpoint.rootHash, second.checkpoint.rootHash, p);
    expect(ok(proof)).toBe(true);
    const bent = proof.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
    expect(ok(bent)).toBe(false);
    expect(await (await t.get(`/v1/log/consistency?from=0&to=${n}`)).text()).toBe('');
    expect(await (await t.get(`/v1/log/consistency?from=${n}&to=${n}`)).text()).toBe('');
    expect((await t.get(`/v1/log/consistency?from=${n}&to=${m}`)).status).toBe(400);
    expect((await t.get(`/v1/log/consistency?from=1&to=${n + 1}`)).status).toBe(400);
    expect((await t.get('/v1/log/consistency?from=x&to=2')).status).toBe(400);
    expect((await t.get('/v1/log/consistency?to=2')).status).toBe(400);
  });

  it('a restart continues the tree; the next checkpoint is consistent with the last one signed before it', async () => {
    const dir = tempDir();
    const a = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    const v = verifierOf(a);
    for (let i = 0; i < 3; i++) await a.post(classification());
    const before = await checkpointCovering(a, 3, v);
    await a.close();
    const b = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    for (let i = 0; i < 6; i++) await b.post(classification());
    const after = await checkpointCovering(b, 9, v);
    const { tree } = await servedTree(b);
    expect(toBase64(after.checkpoint.rootHash)).toBe(toBase64(tree.root(9)));
    expect(consistentWith(tree, before.checkpoint, after.checkpoint)).toBe(true);
  });

  it('a database from before the log gets its tree from the stored rows; with early rows pruned it says why', async () => {
    const dir = tempDir();
    const a = await startTestServer({}, dir);
    for (let i = 0; i < 4; i++) await a.post(classification());
    await a.close();
    const db = openDb(dir);
    db.exec('DELETE FROM tlog_leaves; DELETE FROM tlog_checkpoints;');
    db.close();
    const b = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    const cp = await checkpointCovering(b, 4, verifierOf(b));
    expect(toBase64(cp.checkpoint.rootHash)).toBe(toBase64((await servedTree(b)).tree.root(4)));
    await b.close();

    const db2 = openDb(dir);
    db2.exec('DELETE FROM tlog_leaves; DELETE FROM tlog_checkpoints; DELETE FROM signals WHERE seq < 3;');
    db2.close();
    const c = await startTestServer({ log: { origin: ORIGIN } }, dir);
    const res = await c.get('/v1/log/checkpoint');
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/pruned before this database kept the transparency log/);
  });

  it('a database with one row per hash (schema 4) moves to one row per leaf, pruned rows too: same root, proofs', async () => {
    const dir = tempDir();
    const a = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    const v = verifierOf(a);
    for (let i = 0; i < 13; i++) await a.post(classification()); // 13 leaves: every level up to 3, and partial
    const before = await checkpointCovering(a, 13, v);
    await a.close();
    // Back to schema 4: the hashes as (level, idx) rows, written from the tree an independent MemoryTree builds.
    const db = openDb(dir);
    const bodies = db.prepare('SELECT body FROM signals ORDER BY seq').pluck().all() as string[];
    const mem = new MemoryTree(sha256);
    db.exec(`DROP TABLE tlog_leaves;
      CREATE TABLE tlog_hashes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID;`);
    const put = db.prepare('INSERT INTO tlog_hashes (level, idx, hash) VALUES (?, ?, ?)');
    let rows = 0;
    for (const body of bodies) {
      const i = mem.size;
      mem.append(utf8Bytes(body));
      for (let level = 0; (i + 1) % 2 ** level === 0; level++, rows++) {
        const idx = (i + 1) / 2 ** level - 1;
        put.run(level, idx, Buffer.from(mem.read(level, idx)));
      }
    }
    expect(rows).toBe(13 + 6 + 3 + 1);
    // The first two signals pruned: only the migrated hashes can give the tree back (no rebuild from rows).
    db.exec('DELETE FROM signals WHERE seq < 3');
    db.pragma('user_version = 4');
    db.close();

    const b = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    const look = openDb(dir, { readonly: true });
    const tables = look
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tlog_%' ORDER BY name")
      .pluck()
      .all();
    look.close();
    expect(tables).toEqual(['tlog_checkpoints', 'tlog_cosignatures', 'tlog_leaves']);
    await b.post(classification());
    const after = await checkpointCovering(b, 14, v);
    bodies.push(await (await b.get('/v1/signals/14')).text());
    mem.append(utf8Bytes(bodies[13]!));
    expect(toBase64(after.checkpoint.rootHash)).toBe(toBase64(mem.root(14)));
    expect(consistentWith(mem, before.checkpoint, after.checkpoint)).toBe(true);
    for (let seq = 1; seq <= 14; seq++) {
      const file = await (await b.get(`/v1/log/proof/${seq}`)).text();
      expect(verifyTlogProof(sha256, file, utf8Bytes(bodies[seq - 1]!), ORIGIN, [v]).index).toBe(seq - 1);
    }
  });

  it('the default origin names the log by its epoch; a checkpoint is served from the first request', async () => {
    const t = await startTestServer({ log: { checkpoint_interval_ms: 20 } });
    const origin = `catalyst-signals/${t.server.epoch}`;
    expect(t.server.driver.transparency!.origin).toBe(origin);
    const res = await t.get('/v1/log/checkpoint');
    expect(res.status).toBe(200);
    expect(openCheckpoint(await res.text(), origin, [verifierOf(t, origin)]).checkpoint.size).toBe(0);
  });
});
