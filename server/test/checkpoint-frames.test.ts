import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  ed25519Verifier,
  fromBase64,
  leafHash,
  openCheckpoint,
  parseServerFrame,
  treeHash,
  utf8Bytes,
  verifyConsistency,
  verifyInclusion,
  type CheckpointFrame,
  type HelloFrame,
  type NoteVerifier,
} from '@catalyst-signal/shared';
import { sha256 } from '../src/log/tlog-crypto.js';
import { ed25519Verify } from './helpers/ed25519.js';
import { pollUntil } from './helpers/nats-cluster.js';
import { classification, startTestServer, type TestServer } from './helpers/server.js';
import { connect, type Frame, type TestWs } from './helpers/ws-client.js';

const ORIGIN = 'catalyst.test/frames';

/** The pinned verifier: from the server's signing key, checked against what hello announces. */
function pinned(t: TestServer, hello: HelloFrame): NoteVerifier {
  expect(hello.log?.vkey).toBe(t.server.driver.transparency!.vkey);
  return ed25519Verifier(sha256, hello.log!.vkey, ed25519Verify);
}

const checkpoints = (c: TestWs): CheckpointFrame[] =>
  c.frames.filter((f) => f.type === 'checkpoint') as unknown as CheckpointFrame[];

/** Everything a client checks: schema, signature, each proof against the signal bytes it was sent. */
function check(
  f: Frame,
  v: NoteVerifier,
  leaves: Map<number, string>,
  previous?: { size: number; root: Uint8Array },
) {
  const parsed = parseServerFrame(JSON.stringify(f));
  expect(parsed.ok).toBe(true);
  const frame = f as unknown as CheckpointFrame;
  const { checkpoint } = openCheckpoint(frame.checkpoint, ORIGIN, [v]);
  for (const p of frame.proofs) {
    const leaf = leaves.get(p.index);
    expect(leaf, `leaf ${p.index} was sent before its proof`).toBeDefined();
    expect(
      verifyInclusion(
        sha256,
        p.index,
        checkpoint.size,
        leafHash(sha256, utf8Bytes(leaf!)),
        p.hashes.map((h) => fromBase64(h)),
        checkpoint.rootHash,
      ),
    ).toBe(true);
  }
  if (previous && frame.consistency) {
    expect(frame.consistency.from_size).toBe(previous.size);
    expect(
      verifyConsistency(
        sha256,
        previous.size,
        checkpoint.size,
        previous.root,
        checkpoint.rootHash,
        frame.consistency.hashes.map((h) => fromBase64(h)),
      ),
    ).toBe(true);
  }
  return { size: checkpoint.size, root: checkpoint.rootHash, proven: frame.proofs.map((p) => p.index) };
}

/** Leaf bytes as the client has them: the served signal is RFC 8785 canonical, so re-serialising is exact. */
function leavesOf(c: TestWs): Map<number, string> {
  return new Map(c.signals().map((s) => [s.seq - 1, canonicalJson(s)]));
}

describe('checkpoint frames on the stream', () => {
  it('a subscriber that asks gets the latest checkpoint after replay, then one per checkpoint, proving every signal it got', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    for (let i = 0; i < 3; i++) expect((await t.post(classification())).status).toBe(201);
    const c = connect(t.wsUrl, t.readKey);
    const hello = (await c.frame('hello')) as unknown as HelloFrame;
    expect(hello.log).toMatchObject({
      origin: ORIGIN,
      signal_sigs: true,
      max_proofs: 64,
      checkpoint_interval_ms: 20,
    });
    const v = pinned(t, hello);
    c.send({ type: 'subscribe', from_seq: 0, checkpoints: {} });
    await c.frame('caught_up');
    const first = await c.until(() => checkpoints(c)[0], 5000, 'the first checkpoint frame');
    const a = check(first as unknown as Frame, v, leavesOf(c));
    expect(first.consistency).toBeUndefined(); // the client verified nothing before
    // The replayed signals the checkpoint covers are proven in it.
    expect(a.proven).toEqual([...Array(Math.min(3, a.size)).keys()]);

    for (let i = 0; i < 4; i++) expect((await t.post(classification())).status).toBe(201);
    const proven = new Set(a.proven);
    let previous = { size: a.size, root: a.root };
    let n = 1;
    while (proven.size < 7) {
      const f = await c.until(() => checkpoints(c)[n], 5000, `checkpoint frame ${n + 1}`);
      const r = check(f as unknown as Frame, v, leavesOf(c), previous);
      expect(f.consistency?.from_size).toBe(previous.size);
      // Each later frame proves exactly the leaves new since the one before.
      expect(r.proven).toEqual([...Array(r.size - previous.size).keys()].map((k) => k + previous.size));
      for (const i of r.proven) proven.add(i);
      previous = { size: r.size, root: r.root };
      n++;
    }
    expect([...proven].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('the first frame carries consistency from the size the client verified; without asking, no checkpoint frame', async () => {
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    for (let i = 0; i < 5; i++) expect((await t.post(classification())).status).toBe(201);
    // A client that verified the size-2 checkpoint earlier resumes from seq 2.
    const old = await (async () => {
      const c = connect(t.wsUrl, t.readKey);
      await c.frame('hello');
      return c;
    })();
    old.send({ type: 'subscribe', from_seq: 0 });
    await old.frame('caught_up');
    const tree = t.server.driver.transparency!;
    await pollUntil(
      'a checkpoint of 5',
      async () => ((tree.latestSigned()?.size ?? 0) >= 5 ? true : undefined),
      5000,
      10,
    );
    const root2 = treeHash(sha256, 2, t.server.driver.store.tree.read);

    const c = connect(t.wsUrl, t.readKey);
    const hello = (await c.frame('hello')) as unknown as HelloFrame;
    const v = pinned(t, hello);
    c.send({ type: 'subscribe', from_seq: 2, checkpoints: { from_size: 2 } });
    const f = await c.until(() => checkpoints(c)[0], 5000, 'a checkpoint frame');
    const r = check(f as unknown as Frame, v, leavesOf(c), { size: 2, root: root2 });
    expect(f.consistency?.from_size).toBe(2);
    expect(r.proven).toEqual([2, 3, 4]);

    expect((await t.post(classification())).status).toBe(201);
    await old.until(() => old.signals().length === 6 || undefined, 5000, 'the live signal');
    await c.until(() => checkpoints(c)[1], 5000, 'the next checkpoint frame');
    expect(old.frames.some((x) => x.type === 'checkpoint')).toBe(false);
  });

  it('a burst beyond max_proofs in one interval: the frame proves the first 64 new leaves, the rest come from REST', async () => {
    // A long interval: the whole burst lands in one checkpoint.
    const t = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 1000 } });
    const c = connect(t.wsUrl, t.readKey);
    const hello = (await c.frame('hello')) as unknown as HelloFrame;
    const v = pinned(t, hello);
    c.send({ type: 'subscribe', from_seq: 0, checkpoints: {} });
    await c.until(() => checkpoints(c)[0], 5000, 'the first checkpoint frame (size 0)');
    const batch = Array.from({ length: 100 }, () => classification());
    expect((await t.post(batch)).status).toBe(201);
    await c.until(() => c.signals().length === 100 || undefined, 5000, '100 signals');
    const f = await c.until(
      () => checkpoints(c).find((x) => x.proofs.length > 0),
      5000,
      'the burst checkpoint',
    );
    const r = check(f as unknown as Frame, v, leavesOf(c));
    expect(r.size).toBe(100);
    expect(r.proven).toEqual([...Array(64).keys()]);
    const rest = await t.get('/v1/log/proof/100');
    expect(rest.status).toBe(200);
    expect(await rest.text()).toMatch(/^c2sp.org\/tlog-proof@v1\nindex 99\n/);
  });
});
