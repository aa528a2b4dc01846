import { existsSync, readFileSync } from 'node:fs';
import { KeyObject, sign } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MemoryTree,
  canonicalJson,
  ed25519Signer,
  formatCheckpoint,
  signNote,
  utf8Bytes,
  type Signal,
} from '@catalyst-signal/shared';
import {
  classification,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../server/test/helpers/server.js';
import { openDb } from '../../server/src/store/db.js';
import { LogHalted, EXIT } from '../src/errors.js';
import { Journal, SCHEMA_VERSION } from '../src/journal/index.js';
import {
  LogVerifier,
  ProofTimeout,
  logVkey,
  sha256,
  verifyEvidence,
  type Evidence,
} from '../src/log-verify.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { FakeSignalServer } from './helpers/fake-server.js';
import { baseSignal } from './helpers/signals.js';
import { waitEvent } from './helpers/wait.js';

/**
 * Issue 24, client side: every signal is proven in the server's transparency log before it is applied, the
 * latest verified checkpoint is kept in the journal, and a server that rewrites an old signal is caught: the
 * client halts (exit 7) and writes evidence anyone can re-check offline. The lying server is the real one,
 * whose database is edited while it is down (the operator's power), with the signal re-signed by its own key.
 */

const ORIGIN = 'catalyst.test/log';

const engineConfig = (url: string, extra: object = {}) => ({
  server: { url, start_from: 'all' as const },
  risk: { cooldown_per_symbol_ms: 0 },
  paper: { slippage_pct: 0, fee_rate: 0 },
  log: { verify: 'on' as const, max_proof_wait_ms: 5000 },
  ...extra,
});

function journalOf<T>(path: string, fn: (j: Journal) => T): T {
  const j = Journal.open(path);
  try {
    return fn(j);
  } finally {
    j.close();
  }
}

async function publish(t: TestServer, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await t.post(classification())).status).toBe(201);
}

/** The operator rewrites stored signal `seq` (another headline) and re-signs it with the server's own key. */
function rewriteSignal(t: TestServer, dir: string, seq: number): string {
  const db = openDb(dir);
  const row = db.prepare('SELECT body FROM signals WHERE seq = ?').get(seq) as { body: string };
  const { sig: _sig, ...unsigned } = JSON.parse(row.body) as Signal;
  const edited = { ...unsigned, headline: `${unsigned.headline} (edited after the fact)` };
  const body = canonicalJson({ ...edited, sig: t.server.signer!.sign(edited) });
  db.prepare('UPDATE signals SET body = ? WHERE seq = ?').run(body, seq);
  db.close();
  return row.body;
}

async function haltedEngine(t: TestEngine): Promise<{ evidence: Evidence; path: string }> {
  await waitEvent(t.engine.connection, 'fatal', () => true, 20_000);
  await t.engine.done;
  expect(t.exitCode()).toBe(EXIT.logMisbehaved);
  const stopped = t.engine.stopped;
  expect(stopped).toBeInstanceOf(LogHalted);
  const path = (stopped as LogHalted).evidencePath!;
  expect(existsSync(path)).toBe(true);
  return { evidence: JSON.parse(readFileSync(path, 'utf8')) as Evidence, path };
}

describe('the client proves every signal in the transparency log', () => {
  it('applies signals only once proven; keeps the latest verified checkpoint in the journal', async () => {
    const s = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 50 } });
    const dir = tempDir();
    const t = await startTestEngine({ dir, config: engineConfig(s.url), serverKey: s.readKey });
    const applied = waitEvent(t.engine.connection, 'applied', (seq: number) => seq === 6);
    if (!t.events.some((e) => e.type === 'caught_up')) await waitEvent(t.engine.connection, 'caught_up');
    const posted: number[] = [];
    for (let i = 0; i < 6; i++) {
      expect((await s.post(classification())).status).toBe(201);
      posted.push(Date.now());
    }
    await applied;
    await t.stop();
    // Every signal proven by the stream's checkpoint frames: no REST request per signal.
    expect(t.engine.logStats).toEqual({ framed: 6, rest: 0, tiles: 0, frames: expect.any(Number) as number });
    const at = t.events.filter((e) => e.type === 'applied').map((e) => e.at);
    const lat = at.map((x, i) => x - posted[i]!).sort((p, q) => p - q);
    console.log(
      `POST -> applied with checkpoint frames (checkpoint_interval_ms 50): median ${lat[3]} ms, max ${lat[5]} ms`,
    );
    const row = journalOf(t.journalPath, (j) => {
      expect(j.schemaVersion()).toBe(SCHEMA_VERSION);
      return j.verifiedCheckpoint(ORIGIN);
    });
    expect(row).toBeDefined();
    expect(row!.size).toBeGreaterThanOrEqual(6);
    expect(row!.note.startsWith(`${ORIGIN}\n${row!.size}\n`)).toBe(true);
  });

  it('a replay is proven by the frame after it; leaves past max_proofs come from hash tiles at once, not one tlog-proof each', async () => {
    const s = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } });
    // Far more than the 64 proofs one frame carries: one tlog-proof each would spend the read key's REST
    // budget (100 a minute) for minutes.
    const n = 300;
    for (let i = 0; i < n; i += 100) await s.post(Array.from({ length: 100 }, () => classification()));
    // The replay's frame must cover all n: otherwise a later checkpoint frame proves the tail (timing-dependent).
    const cps = s.server.driver.transparency!;
    if ((cps.latestSigned()?.size ?? 0) < n)
      await new Promise<void>((r) => cps.onSigned((c) => c.size >= n && r()));
    const t = await startTestEngine({ dir: tempDir(), config: engineConfig(s.url), serverKey: s.readKey });
    const t0 = Date.now();
    await waitEvent(t.engine.connection, 'applied', (seq: number) => seq === n, 30_000);
    const ms = Date.now() - t0;
    await t.stop();
    expect(t.engine.logStats).toMatchObject({ framed: 64, tiles: n - 64, rest: 0 });
    console.log(`replay of ${n} signals proven in ${ms} ms (64 from the frame, ${n - 64} from hash tiles)`);
    // Six waits of one interval + 1 s each would be over 6 s.
    expect(ms).toBeLessThan(6000);
  });

  it('measures the added latency: a signal just ingested waits for the next checkpoint, a covered one does not', async () => {
    const s = await startTestServer({ log: { origin: ORIGIN } }); // the default interval, 500 ms
    const x = (s.server.signer!.publicJwk as { x: string }).x;
    const checkpoints = new Map<
      string,
      { origin: string; size: number; note: string; verified_at: number }
    >();
    const verifier = new LogVerifier({
      baseUrls: [s.url],
      key: s.readKey,
      jwkX: x,
      store: {
        verifiedCheckpoint: (o) => checkpoints.get(o),
        saveVerifiedCheckpoint: (r) => void checkpoints.set(r.origin, r),
      },
      maxWaitMs: 5000,
      evidenceDir: tempDir(),
    });
    const fresh: number[] = [];
    const covered: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await s.post(classification());
      const seq = ((await r.json()) as { seq: number }).seq;
      const signal = (await (await s.get(`/v1/signals/${seq}`)).json()) as Signal;
      let t0 = performance.now();
      await verifier.prove(signal);
      fresh.push(performance.now() - t0);
      t0 = performance.now();
      await verifier.prove(signal);
      covered.push(performance.now() - t0);
    }
    const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
    console.log(
      `log proof latency per signal: just ingested median ${median(fresh).toFixed(1)} ms (max ${Math.max(...fresh).toFixed(1)}), already covered median ${median(covered).toFixed(1)} ms`,
    );
    // Bounded by the server's checkpoint interval (500 ms) plus a round trip, far below max_proof_wait_ms.
    expect(Math.max(...fresh)).toBeLessThan(2000);
    expect(checkpoints.get(ORIGIN)!.size).toBe(8);
  });

  it('a rewritten old signal is caught by a new client: inclusion fails, exit 7, evidence holds offline', async () => {
    const dir = tempDir();
    const a = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    await publish(a, 3);
    const vkey = logVkey(ORIGIN, (a.server.signer!.publicJwk as { x: string }).x);
    await a.close();
    const original = rewriteSignal(a, dir, 2);
    const b = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    const t = await startTestEngine({ dir: tempDir(), config: engineConfig(b.url), serverKey: b.readKey });
    const { evidence, path } = await haltedEngine(t);
    expect(t.applied).toEqual([1]); // seq 1 genuine; seq 2 never applied
    expect(evidence).toMatchObject({ claim: 'inclusion_failed', seq: 2, origin: ORIGIN, vkey });
    expect(Buffer.from(evidence.leaf!, 'base64').toString()).toMatch(/edited after the fact/);
    const v = verifyEvidence(JSON.parse(readFileSync(path, 'utf8')), vkey);
    expect(v.holds).toBe(true);
    // The same file with the genuine leaf does not hold: it is the served leaf that the signed tree refuses.
    const genuine = { ...evidence, leaf: Buffer.from(original).toString('base64') };
    expect(verifyEvidence(genuine, vkey).holds).toBe(false);
    // A tampered checkpoint signature is refused outright.
    expect(() =>
      verifyEvidence(
        { ...evidence, new_checkpoint: evidence.new_checkpoint.replace(/\n3\n/, '\n4\n') },
        vkey,
      ),
    ).toThrow();
  });

  it('a client that saw the old history catches a rewrite whose tree was rebuilt: inconsistent checkpoint, exit 7', async () => {
    const dir = tempDir();
    const cdir = tempDir();
    const a = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    const t1 = await startTestEngine({ dir: cdir, config: engineConfig(a.url), serverKey: a.readKey });
    const applied = waitEvent(t1.engine.connection, 'applied', (seq: number) => seq === 3);
    await publish(a, 3);
    await applied;
    await t1.stop();
    const before = journalOf(t1.journalPath, (j) => j.verifiedCheckpoint(ORIGIN)!);
    expect(before.size).toBe(3);
    const vkey = logVkey(ORIGIN, (a.server.signer!.publicJwk as { x: string }).x);
    await a.close();
    // The operator rewrites seq 2 AND rebuilds the tree from the edited rows (the server re-signs checkpoints).
    rewriteSignal(a, dir, 2);
    const db = openDb(dir);
    db.exec('DELETE FROM tlog_leaves; DELETE FROM tlog_checkpoints;');
    db.close();
    const b = await startTestServer({ log: { origin: ORIGIN, checkpoint_interval_ms: 20 } }, dir);
    // The key is the same, so the client's pin still matches; the new leaf then reaches it.
    const t2 = await startTestEngine({ dir: cdir, config: engineConfig(b.url), serverKey: b.readKey });
    await publish(b, 1);
    const { evidence, path } = await haltedEngine(t2);
    expect(t2.applied).toEqual([]);
    expect(evidence).toMatchObject({
      claim: 'inconsistent_checkpoints',
      origin: ORIGIN,
      vkey,
      old_checkpoint: before.note,
    });
    const v = verifyEvidence(JSON.parse(readFileSync(path, 'utf8')), vkey);
    expect(v.holds).toBe(true);
    // The journal still holds the checkpoint it verified: the next run halts the same way.
    expect(journalOf(t2.journalPath, (j) => j.verifiedCheckpoint(ORIGIN)!.note)).toBe(before.note);
    const t3 = await startTestEngine({ dir: cdir, config: engineConfig(b.url), serverKey: b.readKey });
    await haltedEngine(t3);
    expect(existsSync(join(cdir, 'journal.sqlite'))).toBe(true);
  });

  it('log.verify auto trades on signatures alone with a server without a log (404); on stops instead (exit 3)', async () => {
    const fake = await FakeSignalServer.start();
    try {
      const auto = await startTestEngine({
        dir: tempDir(),
        config: { ...engineConfig(fake.url), log: { verify: 'auto' } },
        serverKey: fake.key,
      });
      const applied = waitEvent(auto.engine.connection, 'applied', (seq: number) => seq === 1);
      await fake.publish({ symbol: 'BTC' });
      await applied;
      await auto.stop();
      const on = await startTestEngine({
        dir: tempDir(),
        config: { ...engineConfig(fake.url), log: { verify: 'on', max_proof_wait_ms: 300 } },
        serverKey: fake.key,
      });
      const [err] = await waitEvent<[Error]>(on.engine.connection, 'fatal');
      expect(err).toBeInstanceOf(ProofTimeout);
      expect(err.message).toMatch(
        /seq 1 not proven in the transparency log within log.max_proof_wait_ms \(300 ms\)/,
      );
      await on.engine.done;
      expect(on.exitCode()).toBe(EXIT.stopped);
      expect(on.applied).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe('per-signal signatures off (hello.log.signal_sigs false): an unsigned signal stands on its proof', () => {
  /** A fake server announcing a log, with unsigned signals and the checkpoint frames the test writes. */
  async function unsignedLog(signalSigs: boolean) {
    const origin = 'fake.test/log';
    const fake = await FakeSignalServer.start({});
    const x = fake.signer.jwk.x!;
    const pub = new Uint8Array(Buffer.from(x, 'base64url'));
    const key = KeyObject.from(fake.signer.privateKey);
    const signer = ed25519Signer(sha256, origin, pub, (m) => new Uint8Array(sign(null, m, key)));
    fake.helloLog = {
      origin,
      vkey: logVkey(origin, x),
      checkpoint_interval_ms: 50,
      signal_sigs: signalSigs,
      max_proofs: 64,
    };
    const tree = new MemoryTree(sha256);
    const b64 = (h: Uint8Array) => Buffer.from(h).toString('base64');
    /** One unsigned signal, then the checkpoint frame that proves it (consistency from the last size). */
    const publishUnsigned = () => {
      const signal = baseSignal(fake.head + 1, { epoch: fake.epoch }) as Signal;
      fake.publishRaw(signal);
      const before = tree.size;
      tree.append(utf8Bytes(canonicalJson(signal)));
      const note = signNote(formatCheckpoint({ origin, size: tree.size, rootHash: tree.root() }), [signer]);
      fake.sendRaw(
        JSON.stringify({
          type: 'checkpoint',
          checkpoint: note,
          ...(before > 0
            ? { consistency: { from_size: before, hashes: tree.consistency(before).map(b64) } }
            : {}),
          proofs: [{ index: before, hashes: tree.inclusion(before).map(b64) }],
        }),
      );
    };
    return { fake, publishUnsigned };
  }

  it('applied once proven when the hello says the operator turned signatures off; refused otherwise', async () => {
    const { fake, publishUnsigned } = await unsignedLog(false);
    try {
      const t = await startTestEngine({
        dir: tempDir(),
        config: engineConfig(fake.url),
        serverKey: fake.key,
      });
      await waitEvent(t.engine.connection, 'subscribed');
      const applied = waitEvent(t.engine.connection, 'applied', (seq: number) => seq === 3);
      for (let i = 0; i < 3; i++) publishUnsigned();
      await applied;
      expect(t.engine.logStats).toMatchObject({ framed: 3, rest: 0 });
      await t.stop();
      // The same server without the log checked (log.verify off): an unsigned signal is never applied.
      const off = await startTestEngine({
        dir: tempDir(),
        config: { ...engineConfig(fake.url), log: { verify: 'off' } },
        serverKey: fake.key,
      });
      const [err] = await waitEvent<[Error]>(off.engine.connection, 'fatal');
      expect(err.message).toMatch(/seq 1 .*not proven in its transparency log/);
      expect(off.applied).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('with signatures announced on, an unsigned signal is refused even though the log proves it', async () => {
    const { fake, publishUnsigned } = await unsignedLog(true);
    try {
      const t = await startTestEngine({
        dir: tempDir(),
        config: engineConfig(fake.url),
        serverKey: fake.key,
      });
      await waitEvent(t.engine.connection, 'subscribed');
      publishUnsigned();
      const [err] = await waitEvent<[Error]>(t.engine.connection, 'fatal');
      expect(err.message).toMatch(/bad signature: unsigned/);
      expect(t.applied).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe('a real server with per-signal signatures off (protocol 3)', () => {
  it('a client that proves the log follows it; one with log.verify off stops with a protocol error', async () => {
    const s = await startTestServer({
      log: { origin: ORIGIN, checkpoint_interval_ms: 50, signal_signatures: false },
    });
    const t = await startTestEngine({ dir: tempDir(), config: engineConfig(s.url), serverKey: s.readKey });
    const applied = waitEvent(t.engine.connection, 'applied', (seq: number) => seq === 2);
    await publish(s, 2);
    await applied;
    await t.stop();
    const decisions = journalOf(t.journalPath, (j) => j.decisions());
    expect(decisions).toHaveLength(2);
    for (const d of decisions) expect((JSON.parse(d.signal) as Signal).sig).toBeUndefined();

    const off = await startTestEngine({
      dir: tempDir(),
      config: engineConfig(s.url, { log: { verify: 'off' as const } }),
      serverKey: s.readKey,
    });
    const [err] = await waitEvent<[Error & { code?: string }]>(off.engine.connection, 'fatal');
    expect(err.code).toBe('protocol');
    expect(err.message).toContain('protocol 3');
    await off.engine.done;
  });
});
