import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  ed25519Signer,
  formatCheckpoint,
  parseCheckpoint,
  parseNote,
  signNote,
  type Signal,
} from '@catalyst-signal/shared';
import { pollUntil } from '../../server/test/helpers/nats-cluster.js';
import {
  classification,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../server/test/helpers/server.js';
import { openDb } from '../../server/src/store/db.js';
import { EVIDENCE_FORMAT, logVkey, sha256, verifyEvidence, type Evidence } from '../src/log-verify.js';

/**
 * integrations/python/catalyst_tlog.py, the standard-library verifier of the transparency log, run with the
 * machine's python3 against a real server: audit (signed checkpoint, consistency with the last audit, every
 * served signal hashed to the signed root), a tlog-proof file offline, and a client's evidence file.
 */

const PY_DIR = fileURLToPath(new URL('../../integrations/python/', import.meta.url));
const ORIGIN = 'catalyst.test/python';
const LOG = { origin: ORIGIN, checkpoint_interval_ms: 20 };

function python(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['catalyst_tlog.py', ...args], {
      cwd: PY_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const covering = (t: TestServer, size: number) =>
  pollUntil(
    `a checkpoint covering ${size}`,
    async () => {
      const note = await (await t.get('/v1/log/checkpoint')).text();
      return parseCheckpoint(parseNote(note).text).size >= size ? note : undefined;
    },
    10_000,
    20,
  );

async function post(t: TestServer, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await t.post(classification())).status).toBe(201);
}

describe('the Python transparency-log verifier (standard library only) against a real server', () => {
  it('audits checkpoints, consistency and every signal; checks proofs and evidence; catches a rewritten row', async () => {
    const dir = tempDir();
    const work = tempDir();
    const state = join(work, 'state');
    const t = await startTestServer({ log: LOG }, dir);
    const x = (t.server.signer!.publicJwk as { x: string }).x;
    const vkey = logVkey(ORIGIN, x);
    await post(t, 5);
    await covering(t, 5);
    const audit = () => python(['audit', '--server', t.url, '--key', t.readKey, '--state', state]);
    let r = await audit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/all 5 served signals hash to the signed root/);
    await post(t, 4);
    await covering(t, 9);
    r = await audit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/consistent with the saved checkpoint of size 5/);
    expect(r.stdout).toMatch(/all 9 served signals/);

    // A tlog-proof file and the signal's bytes, offline; another signal's bytes are refused.
    writeFileSync(join(work, 'p'), await (await t.get('/v1/log/proof/3')).text());
    writeFileSync(join(work, 'leaf3'), await (await t.get('/v1/signals/3')).text());
    writeFileSync(join(work, 'leaf4'), await (await t.get('/v1/signals/4')).text());
    r = await python(['proof', join(work, 'p'), join(work, 'leaf3'), '--vkey', vkey]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/entry 2 is in the signed checkpoint of size 9/);
    r = await python(['proof', join(work, 'p'), join(work, 'leaf4'), '--vkey', vkey]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/entry 2 is not in the signed checkpoint/);

    // Evidence: the real checkpoint and a second one of the same size with another root, both signed with
    // the server's key (what a forking operator would have to sign): conclusive in Python and in the CLI.
    const real = await covering(t, 9);
    const cp = parseCheckpoint(parseNote(real).text);
    const signer = ed25519Signer(sha256, ORIGIN, t.server.signer!.publicKeyRaw, (m) =>
      t.server.signer!.signBytes(m),
    );
    const forged = signNote(formatCheckpoint({ ...cp, rootHash: sha256(new Uint8Array([1])) }), [signer]);
    const evidence: Evidence = {
      format: EVIDENCE_FORMAT,
      claim: 'inconsistent_checkpoints',
      found_at: new Date().toISOString(),
      server: t.url,
      origin: ORIGIN,
      vkey,
      old_checkpoint: real,
      new_checkpoint: forged,
    };
    writeFileSync(join(work, 'ev.json'), JSON.stringify(evidence));
    writeFileSync(join(work, 'no.json'), JSON.stringify({ ...evidence, new_checkpoint: real }));
    r = await python(['evidence', join(work, 'ev.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/EVIDENCE HOLDS \(conclusive\)/);
    expect(verifyEvidence(evidence).conclusive).toBe(true);
    r = await python(['evidence', join(work, 'no.json')]);
    expect(r.code).toBe(1);
    // inclusion_failed: seq 3's proof with seq 4's bytes holds; with its own bytes it does not.
    const proof3 = await (await t.get('/v1/log/proof/3')).text();
    const inclusion = (leafSeq: number) => ({
      format: EVIDENCE_FORMAT,
      claim: 'inclusion_failed',
      found_at: new Date().toISOString(),
      server: t.url,
      origin: ORIGIN,
      vkey,
      new_checkpoint: proof3.slice(proof3.indexOf('\n\n') + 2),
      seq: 3,
      leaf: Buffer.from(readFileSync(join(work, `leaf${leafSeq}`))).toString('base64'),
      tlog_proof: proof3,
    });
    writeFileSync(join(work, 'inc-bad.json'), JSON.stringify(inclusion(4)));
    writeFileSync(join(work, 'inc-ok.json'), JSON.stringify(inclusion(3)));
    r = await python(['evidence', join(work, 'inc-bad.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/seq 3 as served is not in the signed tree/);
    expect((await python(['evidence', join(work, 'inc-ok.json')])).code).toBe(1);
    expect(verifyEvidence(inclusion(4)).holds).toBe(true);
    expect(verifyEvidence(inclusion(3)).holds).toBe(false);
    r = await python([
      'evidence',
      join(work, 'ev.json'),
      '--vkey',
      logVkey(ORIGIN, Buffer.alloc(32, 3).toString('base64url')),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not signed by/);

    // The operator edits an old signal (re-signed with its own key): the audit's rebuilt root no longer matches.
    await t.close();
    const db = openDb(dir);
    const row = db.prepare('SELECT body FROM signals WHERE seq = 2').get() as { body: string };
    const { sig: _sig, ...unsigned } = JSON.parse(row.body) as Signal;
    const edited = {
      ...unsigned,
      direction: unsigned.direction === 'long' ? 'short' : 'long',
    } as typeof unsigned;
    db.prepare('UPDATE signals SET body = ? WHERE seq = 2').run(
      canonicalJson({ ...edited, sig: t.server.signer!.sign(edited) }),
    );
    db.close();
    const t2 = await startTestServer({ log: LOG }, dir);
    r = await python(['audit', '--server', t2.url, '--key', t2.readKey, '--state', state]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/do not hash to the signed root/);
    r = await python(['audit', '--server', 'http://127.0.0.1:1', '--key', 'k']);
    expect(r.code).toBe(3);
  });
});
