import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MemoryTree,
  bytesEqual,
  leafHash,
  nodeHash,
  parseCheckpoint,
  parseNote,
  toBase64,
  utf8Bytes,
} from '@catalyst-signal/shared';
import { formatTileIndex, parseTilePath, tilePath } from '../src/log/tiles.js';
import { sha256 } from '../src/log/tlog-crypto.js';
import { dbPrune } from '../src/commands/db.js';
import { acceptsGzip } from '../src/http/gzip.js';
import { pollUntil } from './helpers/nats-cluster.js';
import { classification, startTestServer, type TestServer } from './helpers/server.js';

/**
 * The C2SP tlog-tiles routes. Checked against Go's reference code (golang.org/x/mod/sumdb/tlog, Debian:
 * golang-go and golang-golang-x-mod-dev, built in GOPATH mode; required in CI, a laptop without Go skips and
 * says so) and, independently of Go, by rebuilding the root from the served entry bundles and tiles.
 */
const GOPATH = '/usr/share/gocode';
const XMOD = path.join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog');
const go = spawnSync('go', ['version'], { encoding: 'utf8' });
const haveGo = go.status === 0 && existsSync(XMOD);
const ci = process.env.CI === 'true';
const goTitle = (t: string) =>
  !haveGo && !ci
    ? `${t} (SKIPPED: go or ${XMOD} missing; apt-get install golang-go golang-golang-x-mod-dev)`
    : t;
const work = mkdtempSync(path.join(os.tmpdir(), 'catalyst-go-tiles-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ORIGIN = 'catalyst.test/tiles';

async function postMany(t: TestServer, n: number): Promise<void> {
  for (let done = 0; done < n; done += 200) {
    const batch = Array.from({ length: Math.min(200, n - done) }, () => classification());
    expect((await t.post(batch)).status).toBe(201);
  }
}

async function checkpointOf(t: TestServer, size: number): Promise<{ size: number; root: Uint8Array }> {
  return pollUntil(
    `a checkpoint of ${size}`,
    async () => {
      const r = await t.get('/v1/log/checkpoint');
      if (r.status !== 200) return undefined;
      const c = parseCheckpoint(parseNote(await r.text()).text);
      return c.size >= size ? { size: c.size, root: c.rootHash } : undefined;
    },
    10_000,
    20,
  );
}

async function bytesAt(
  t: TestServer,
  p: string,
): Promise<{ status: number; bytes: Uint8Array; res: Response }> {
  const res = await t.get(`/v1/log/${p}`);
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), res };
}

/** Entry bundle -> the leaves, by the spec's framing (uint16 big-endian length prefixes). */
function unbundle(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < b.length;) {
    const n = (b[at]! << 8) | b[at + 1]!;
    out.push(b.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  return out;
}

/** MTH over a run of hashes (a tile's hashes are the leaves of a height-8 subtree). */
function mth(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 1) return hashes[0]!;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(sha256, mth(hashes.slice(0, k)), mth(hashes.slice(k)));
}

const split = (tile: Uint8Array) =>
  Array.from({ length: tile.length / 32 }, (_, i) => tile.subarray(i * 32, i * 32 + 32));

describe('tile paths (C2SP tlog-tiles)', () => {
  it('formats and parses N in 3-digit groups, and only the canonical spelling', () => {
    expect(formatTileIndex(1234067)).toBe('x001/x234/067');
    expect(formatTileIndex(0)).toBe('000');
    expect(tilePath({ level: 1, index: 5, width: 17, partial: true })).toBe('tile/1/005.p/17');
    expect(parseTilePath('0/x001/x234/067')).toEqual({
      level: 0,
      index: 1234067,
      width: 256,
      partial: false,
    });
    expect(parseTilePath('entries/000.p/5')).toEqual({ level: 'entries', index: 0, width: 5, partial: true });
    for (const bad of [
      '00/000',
      '0/0',
      '0/x000/001',
      '0/000.p/0',
      '0/000.p/256',
      '0/000.p/07',
      '64/000',
      '0/001/',
    ])
      expect(parseTilePath(bad), bad).toBeUndefined();
  });
});

describe('the log served as tiles (GET /v1/log/tile/...)', () => {
  it(
    goTitle('tiles and entry bundles are what Go computes from the leaves, and rebuild the signed root'),
    async () => {
      if (!haveGo && !ci) return;
      if (!haveGo) throw new Error(`CI=true but go or ${XMOD} is missing`);
      const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
      await postMany(t, 300);
      const cp = await checkpointOf(t, 300);
      expect(cp.size).toBe(300);

      // The leaves, from the entry bundles: one full (256), one partial (44).
      const full = await bytesAt(t, 'tile/entries/000');
      expect(full.status).toBe(200);
      expect(full.res.headers.get('content-type')).toBe('application/octet-stream');
      expect(full.res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const part = await bytesAt(t, 'tile/entries/001.p/44');
      expect(part.status).toBe(200);
      const leaves = [...unbundle(full.bytes), ...unbundle(part.bytes)];
      expect(leaves).toHaveLength(300);
      // Each entry is exactly the served signal.
      expect(bytesEqual(leaves[299]!, utf8Bytes(await (await t.get('/v1/signals/300')).text()))).toBe(true);

      // Independently of the server's stored hashes and of Go: the leaves give the signed root.
      const mem = new MemoryTree(sha256);
      for (const l of leaves) mem.append(l);
      expect(toBase64(mem.root())).toBe(toBase64(cp.root));

      copyFileSync(path.join(import.meta.dirname, 'go-tiles/main.go'), path.join(work, 'main.go'));
      const env = {
        ...process.env,
        GOPATH,
        GO111MODULE: 'off',
        GOCACHE: path.join(work, 'cache'),
        GOFLAGS: '',
      };
      const b = spawnSync('go', ['build', '-o', 'tiles', 'main.go'], { cwd: work, env, encoding: 'utf8' });
      expect(b.status, b.stderr).toBe(0);
      const expected = ['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1'];
      const served: Record<string, string> = {};
      for (const p of expected) {
        const r = await bytesAt(t, p);
        expect(r.status, p).toBe(200);
        served[p] = Buffer.from(r.bytes).toString('base64');
      }
      const run = spawnSync(path.join(work, 'tiles'), [], {
        input: JSON.stringify({
          size: cp.size,
          root: Buffer.from(cp.root).toString('base64'),
          leaves: leaves.map((l) => Buffer.from(l).toString('base64')),
          served,
        }),
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      expect(run.status, run.stderr).toBe(0);
      const ans = JSON.parse(run.stdout) as {
        tiles: { path: string; data: string }[];
        servedRoot: string | null;
        rootError: string;
        proofErrors: string[];
      };
      // Go lists every tile up to this size, earlier partial widths included: the widest of each is what the
      // size-300 tree has, and those are exactly the three we serve, byte for byte.
      const widest = new Map<string, { path: string; data: string }>();
      for (const x of ans.tiles) widest.set(x.path.replace(/\.p\/\d+$/, ''), x);
      expect([...widest.values()].map((x) => x.path)).toEqual(expected);
      for (const x of widest.values()) expect(served[x.path], x.path).toBe(x.data);
      // An earlier size's partial tile stays available, and is Go's too.
      const earlier = ans.tiles.find((x) => x.path === 'tile/0/001.p/17')!;
      expect(Buffer.from((await bytesAt(t, earlier.path)).bytes).toString('base64')).toBe(earlier.data);
      // Go, reading only the served tiles, gets the signed root and a valid proof for every leaf.
      expect(ans.rootError).toBe('');
      expect(ans.servedRoot).toBe(Buffer.from(cp.root).toString('base64'));
      expect(ans.proofErrors.filter((e) => e !== '')).toEqual([]);

      // And without Go: level 0 holds the leaf hashes, level 1 the MTH of each full level-0 tile.
      const l0 = split(Buffer.from(served['tile/0/000']!, 'base64'));
      expect(l0.every((h, i) => bytesEqual(h, leafHash(sha256, leaves[i]!)))).toBe(true);
      expect(bytesEqual(split(Buffer.from(served['tile/1/000.p/1']!, 'base64'))[0]!, mth(l0))).toBe(true);
    },
  );

  it('only tiles a signed checkpoint covers are served; bad paths are 404 with a line that says the form', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    await postMany(t, 5);
    await checkpointOf(t, 5);
    expect((await bytesAt(t, 'tile/0/000.p/5')).bytes).toHaveLength(5 * 32);
    expect((await bytesAt(t, 'tile/0/000.p/3')).bytes).toHaveLength(3 * 32); // an earlier size's partial tile
    expect((await bytesAt(t, 'tile/0/000.p/6')).status).toBe(404);
    expect((await bytesAt(t, 'tile/0/000')).status).toBe(404);
    expect((await bytesAt(t, 'tile/entries/000.p/6')).status).toBe(404);
    const bad = await t.get('/v1/log/tile/0/0');
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/3-digit groups/);
    expect((await t.get('/v1/log/tile/0/000.p/5', 'cat_wrong')).status).toBe(401);
  });

  it('entry bundles come gzip-compressed to a client that accepts gzip, the same bytes once unzipped', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    await postMany(t, 300);
    await checkpointOf(t, 300);
    // Raw HTTP: fetch would unzip on its own and hide what went over the wire.
    const raw = (p: string, encoding: string) =>
      new Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }>(
        (resolve, reject) => {
          const req = request(`${t.url}/v1/log/${p}`, {
            headers: { authorization: `Bearer ${t.readKey}`, 'accept-encoding': encoding },
          });
          req.on('response', (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                encoding: res.headers['content-encoding'],
                vary: res.headers.vary,
                body: Buffer.concat(chunks),
              }),
            );
          });
          req.on('error', reject);
          req.end();
        },
      );
    for (const p of ['tile/entries/000', 'tile/entries/001.p/44']) {
      const plain = await raw(p, 'identity');
      expect(plain.encoding).toBeUndefined();
      expect(plain.vary).toBe('Accept-Encoding');
      for (const enc of ['gzip', 'br, gzip;q=0.8', 'gzip']) {
        const zipped = await raw(p, enc);
        expect(zipped.encoding, `${p} ${enc}`).toBe('gzip');
        expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
        expect(bytesEqual(gunzipSync(zipped.body), plain.body)).toBe(true);
      }
      expect((await raw(p, 'gzip;q=0')).encoding).toBeUndefined();
    }
    // Hash tiles are random bytes: never compressed.
    expect((await raw('tile/0/000', 'gzip')).encoding).toBeUndefined();
  });

  it('Accept-Encoding: gzip, x-gzip or * unless q=0', () => {
    for (const yes of ['gzip', 'deflate, gzip', 'GZIP;q=0.5', 'x-gzip', '*', 'br;q=1, gzip ; q=0.1'])
      expect(acceptsGzip(yes), yes).toBe(true);
    for (const no of ['', 'identity', 'br, deflate', 'gzip;q=0', 'gzip; q=0.0', 'gzipx', '*, gzip;q=0'])
      expect(acceptsGzip(no), no).toBe(false);
  });

  it('db prune keeps the tree verifiable: after a restart, hash tiles, checkpoints and proofs still serve; pruned bundles do not', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    await postMany(t, 10);
    const cp = await checkpointOf(t, 10);
    const leaves = unbundle((await bytesAt(t, 'tile/entries/000.p/10')).bytes);
    await t.close();
    // The operator's command: everything older than 0 days (the newest signal is always kept).
    expect(dbPrune({ dataDir: t.dataDir, keepDays: '0' })).toMatch(/deleted 9 signal/);
    const u = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, t.dataDir);
    expect((await u.get('/v1/signals/3')).status).toBe(404);
    expect(toBase64((await checkpointOf(u, 10)).root)).toBe(toBase64(cp.root));
    const tile = await bytesAt(u, 'tile/0/000.p/10');
    expect(tile.status).toBe(200);
    const split0 = split(tile.bytes);
    expect(split0.every((h, i) => bytesEqual(h, leafHash(sha256, leaves[i]!)))).toBe(true);
    expect(toBase64(mth(split0))).toBe(toBase64(cp.root));
    expect((await u.get('/v1/log/proof/10')).status).toBe(200);
    const pruned = await u.get('/v1/log/tile/entries/000.p/10');
    expect(pruned.status).toBe(404);
    expect(((await pruned.json()) as { detail: string }).detail).toMatch(/pruned/);
    // A new signal after the prune extends the same tree: the next checkpoint is consistent with the old one.
    await postMany(u, 1);
    const next = await checkpointOf(u, 11);
    const mem = new MemoryTree(sha256);
    for (const l of leaves) mem.append(l);
    mem.append(utf8Bytes(await (await u.get('/v1/signals/11')).text()));
    expect(toBase64(mem.root())).toBe(toBase64(next.root));
  });
});
