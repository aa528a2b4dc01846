import { cpSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Signal } from '@catalyst-signal/shared';
import {
  classification,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../server/test/helpers/server.js';
import { openDb } from '../../server/src/store/db.js';
import { EXIT, LogHalted } from '../src/errors.js';
import { logVkey, verifyEvidence, type Evidence } from '../src/log-verify.js';
import { runCli } from './helpers/client-process.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { waitEvent } from './helpers/wait.js';

/**
 * Issue 24, several gateways: the client compares the checkpoints every gateway of `server.urls` serves. The
 * gateways are real servers started on copies of one database, one of which the operator edited while it was
 * down (a signal rewritten and re-signed with the server's own key, the tree rebuilt): the cluster serves a
 * split view, each gateway consistent on its own.
 */

const ORIGIN = 'catalyst.test/gossip';
const LOG = { log: { origin: ORIGIN, checkpoint_interval_ms: 20 } };

const engineConfig = (urls: string[]) => ({
  server: { urls, start_from: 'all' as const },
  risk: { cooldown_per_symbol_ms: 0 },
  paper: { slippage_pct: 0, fee_rate: 0 },
  log: { verify: 'on' as const, max_proof_wait_ms: 5000 },
});

async function publish(t: TestServer, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await t.post(classification())).status).toBe(201);
}

/** The operator rewrites stored signal `seq`, re-signs it with the server's own key and rebuilds the tree. */
function rewriteAndRebuild(t: TestServer, dir: string, seq: number): void {
  const db = openDb(dir);
  const row = db.prepare('SELECT body FROM signals WHERE seq = ?').get(seq) as { body: string };
  const { sig: _sig, ...unsigned } = JSON.parse(row.body) as Signal;
  const edited = { ...unsigned, headline: `${unsigned.headline} (edited after the fact)` };
  db.prepare('UPDATE signals SET body = ? WHERE seq = ?').run(
    canonicalJson({ ...edited, sig: t.server.signer!.sign(edited) }),
    seq,
  );
  db.exec('DELETE FROM tlog_leaves; DELETE FROM tlog_checkpoints;');
  db.close();
}

/** One history of `n` signals on two database copies; the second copy is rewritten at seq 2 when `fork`. */
async function twoGateways(n: number, fork: boolean) {
  const dir = tempDir();
  const a = await startTestServer(LOG, dir);
  await publish(a, n);
  const vkey = logVkey(ORIGIN, (a.server.signer!.publicJwk as { x: string }).x);
  await a.close();
  const copy = tempDir();
  cpSync(dir, copy, { recursive: true });
  if (fork) rewriteAndRebuild(a, copy, 2);
  // The read key was made in the first run, so both databases accept it.
  return { dir, copy, vkey, readKey: a.readKey };
}

async function halted(t: TestEngine): Promise<{ evidence: Evidence; path: string }> {
  expect(await t.engine.done).toBe(EXIT.logMisbehaved);
  const stopped = t.engine.stopped;
  expect(stopped).toBeInstanceOf(LogHalted);
  const path = (stopped as LogHalted).evidencePath!;
  return { evidence: JSON.parse(readFileSync(path, 'utf8')) as Evidence, path };
}

describe('several gateways serve one history, or the client halts', () => {
  it('two gateways signing different trees of one size: exit 7 before any signal, conclusive evidence', async () => {
    const g = await twoGateways(3, true);
    const honest = await startTestServer(LOG, g.dir);
    const forked = await startTestServer(LOG, g.copy);
    const cdir = tempDir();
    // The honest gateway first: the stream follows it, so only the comparison can see the fork.
    const t = await startTestEngine({
      dir: cdir,
      config: engineConfig([honest.url, forked.url]),
      serverKey: g.readKey,
    });
    const { evidence, path } = await halted(t);
    expect(t.applied).toEqual([]); // the start comparison comes before the first signal
    expect(evidence).toMatchObject({ claim: 'inconsistent_checkpoints', origin: ORIGIN, vkey: g.vkey });
    expect([evidence.server, evidence.old_server].sort()).toEqual([honest.url, forked.url].sort());
    expect(evidence.consistency_proof).toBeUndefined();
    const v = verifyEvidence(JSON.parse(readFileSync(path, 'utf8')), g.vkey);
    expect(v).toMatchObject({ holds: true, conclusive: true });
    // Anyone can check it with the CLI (the built one) from the file alone.
    const check = await runCli(['log', 'verify-evidence', path], {}, cdir);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/EVIDENCE HOLDS \(conclusive\): the log signed two different histories/);
  });

  it('a gateway behind is a prefix (trading goes on); a rewritten one behind is not (exit 7)', async () => {
    const g = await twoGateways(3, false);
    const ahead = await startTestServer(LOG, g.dir);
    await publish(ahead, 2);
    const behind = await startTestServer(LOG, g.copy);
    const t = await startTestEngine({
      dir: tempDir(),
      config: engineConfig([ahead.url, behind.url]),
      serverKey: g.readKey,
    });
    await waitEvent(t.engine.connection, 'applied', (seq: number) => seq === 5);
    expect(t.exitCode()).toBeUndefined();
    await t.stop();
    await behind.close();

    rewriteAndRebuild(behind, g.copy, 2);
    const forked = await startTestServer(LOG, g.copy);
    const t2 = await startTestEngine({
      dir: tempDir(),
      config: engineConfig([ahead.url, forked.url]),
      serverKey: g.readKey,
    });
    const { evidence, path } = await halted(t2);
    expect(t2.applied).toEqual([]);
    expect(evidence).toMatchObject({ server: ahead.url, old_server: forked.url });
    expect(evidence.consistency_proof!.length).toBeGreaterThan(0);
    expect(verifyEvidence(JSON.parse(readFileSync(path, 'utf8')), g.vkey)).toMatchObject({
      holds: true,
      conclusive: false,
    });
  });
});
