import { readFileSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, verifyTlogProof, ed25519Verifier, type Signal } from '@catalyst-signal/shared';
import {
  classification,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../server/test/helpers/server.js';
import { openDb } from '../../server/src/store/db.js';
import { EXIT } from '../src/errors.js';
import { ed25519Verify, logVkey, sha256 } from '../src/log-verify.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { startTestEngine } from './helpers/engine.js';
import { waitEvent } from './helpers/wait.js';

/**
 * `catalyst-client log verify | proof | verify-evidence` through the built CLI, against a real server whose
 * history is then rewritten (database edited while it is down, re-signed with its own key, tree rebuilt).
 */

const ORIGIN = 'catalyst.test/log-cli';
const LOG = { origin: ORIGIN, checkpoint_interval_ms: 20 };

function rewriteAndRebuild(t: TestServer, dir: string, seq: number): void {
  const db = openDb(dir);
  const row = db.prepare('SELECT body FROM signals WHERE seq = ?').get(seq) as { body: string };
  const { sig: _sig, ...unsigned } = JSON.parse(row.body) as Signal;
  const edited = { ...unsigned, confidence: 0.99 };
  db.prepare('UPDATE signals SET body = ? WHERE seq = ?').run(
    canonicalJson({ ...edited, sig: t.server.signer!.sign(edited) }),
    seq,
  );
  db.exec('DELETE FROM tlog_leaves; DELETE FROM tlog_checkpoints;');
  db.close();
}

/**
 * A client journal that decided `n` signals posted to `a` (in posts of `batch`), then a config for the CLI on it.
 * `verify` is the engine's log.verify while it decides.
 */
async function journalOf(
  a: TestServer,
  n: number,
  batch: number,
  verify: 'on' | 'off',
): Promise<{ cdir: string; journalPath: string; config: string; env: Record<string, string> }> {
  const cdir = tempDir();
  const t = await startTestEngine({
    dir: cdir,
    config: { server: { url: a.url, start_from: 'all' }, log: { verify } },
    serverKey: a.readKey,
  });
  const applied = waitEvent(t.engine.connection, 'applied', (seq: number) => seq === n);
  for (let i = 0; i < n; i += batch)
    await a.post(batch === 1 ? classification() : Array.from({ length: batch }, () => classification()));
  await applied;
  await t.stop();
  const config = writeConfig(cdir, { data_dir: '.', server: { url: a.url }, log: { verify: 'on' } });
  return { cdir, journalPath: t.journalPath, config, env: { CATALYST_SERVER_KEY: a.readKey } };
}

describe('catalyst-client log', () => {
  it('verify re-proves the journal, proof writes a tlog-proof; after a rewrite verify exits 7 with evidence that holds', async () => {
    const sdir = tempDir();
    const a = await startTestServer({ log: LOG }, sdir);
    const { cdir, config, env } = await journalOf(a, 4, 1, 'on');
    const ok = await runCli(['-c', config, 'log', 'verify'], env, cdir);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/all 4 journaled signals of epoch \S+ are in the server's log/);

    const proof = await runCli(['-c', config, 'log', 'proof', '3', '--out', join(cdir, 'p3.txt')], env, cdir);
    expect(proof.code, proof.stderr).toBe(0);
    const file = readFileSync(join(cdir, 'p3.txt'), 'utf8');
    const leaf = readFileSync(join(cdir, 'p3.txt.leaf'));
    const x = (a.server.signer!.publicJwk as { x: string }).x;
    const v = ed25519Verifier(sha256, logVkey(ORIGIN, x), ed25519Verify);
    expect(verifyTlogProof(sha256, file, new Uint8Array(leaf), ORIGIN, [v]).index).toBe(2);
    expect(leaf.toString()).toBe(await (await a.get('/v1/signals/3')).text());
    expect((await runCli(['-c', config, 'log', 'proof', 'x'], env, cdir)).code).toBe(EXIT.config);

    await a.close();
    rewriteAndRebuild(a, sdir, 2);
    const b = await startTestServer({ log: LOG }, sdir);
    const config2 = writeConfig(cdir, { data_dir: '.', server: { url: b.url }, log: { verify: 'on' } });
    const env2 = { CATALYST_SERVER_KEY: b.readKey };
    const bad = await runCli(['-c', config2, 'log', 'verify'], env2, cdir);
    expect(bad.code, bad.stderr).toBe(EXIT.logMisbehaved);
    expect(bad.stderr).toMatch(/LOG CHECK FAILED: TRANSPARENCY LOG: two different trees of size 4 signed/);
    const evidence = readdirSync(cdir).filter((f) => f.startsWith('tlog-evidence-'));
    expect(evidence).toHaveLength(1);
    const path = join(cdir, evidence[0]!);
    const check = await runCli(['log', 'verify-evidence', path], {}, cdir);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/EVIDENCE HOLDS \(conclusive\): the log signed two different histories/);
    // Checked with another key, the signatures do not verify: the file proves nothing about that log.
    const otherKey = logVkey(ORIGIN, Buffer.alloc(32, 7).toString('base64url'));
    const other = await runCli(['log', 'verify-evidence', path, '--vkey', otherKey], {}, cdir);
    expect(other.code).toBe(EXIT.error);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect((await runCli(['log', 'verify-evidence', join(cdir, 'nope.json')], {}, cdir)).code).toBe(
      EXIT.config,
    );
  });

  it('verify reads hash tiles (one request per 256 signals); a journaled signal the tiles disagree with is proven alone and fails with evidence', async () => {
    const a = await startTestServer({ log: LOG });
    // Decided unproven (verify off): `log verify` below proves them from scratch. 300 proofs one by one would
    // spend the read key's REST budget (100 a minute) three times over.
    const { cdir, journalPath, config, env } = await journalOf(a, 300, 100, 'off');
    const ok = await runCli(['-c', config, 'log', 'verify'], env, cdir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(
      /all 300 journaled signals .* \(300 from 2 hash tiles of the checkpoint of size 300, 0 by their own proof\)/,
    );

    // The journal's copy of seq 150 differs from the log's leaf: not taken from the tiles, proven alone, caught.
    const db = new Database(journalPath);
    const row = db.prepare('SELECT signal FROM decisions WHERE seq = 150').get() as { signal: string };
    db.prepare('UPDATE decisions SET signal = ? WHERE seq = 150').run(
      JSON.stringify({ ...(JSON.parse(row.signal) as Signal), confidence: 0.01 }),
    );
    db.close();
    const bad = await runCli(['-c', config, 'log', 'verify'], env, cdir);
    expect(bad.code, bad.stderr).toBe(EXIT.logMisbehaved);
    expect(bad.stderr).toMatch(/signal seq 150 as served is not leaf 149 of the signed checkpoint/);
    expect(readdirSync(cdir).filter((f) => f.startsWith('tlog-evidence-'))).toHaveLength(1);
  });
});
