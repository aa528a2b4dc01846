import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cosign,
  cosignerVerifierKey,
  ed25519Cosigner,
  ed25519Signer,
  ed25519VerifierKey,
  formatCheckpoint,
  signNote,
} from '@catalyst-signal/shared';
import { tempDir } from '../../server/test/helpers/server.js';
import { sha256 } from '../src/log-verify.js';

/**
 * integrations/python/catalyst_tlog.py `cosigned`: the standard-library check of witness cosignatures (C2SP
 * tlog-cosignature/v1) and a k-of-n quorum, with the machine's python3, on a note made by our TypeScript.
 */

const PY_DIR = fileURLToPath(new URL('../../integrations/python/', import.meta.url));

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

function key(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  const signFn = (m: Uint8Array) => new Uint8Array(sign(null, m, privateKey));
  return { name, pub, signFn };
}

describe('catalyst_tlog.py cosigned', () => {
  it('counts valid cosignatures by the given witnesses, ignores others, and checks the quorum', async () => {
    const log = key('catalyst.test/py');
    const text = formatCheckpoint({ origin: log.name, size: 5, rootHash: new Uint8Array(32).fill(9) });
    const [a, b, c] = ['w.test/a', 'w.test/b', 'w.test/c'].map(key);
    const vkeys = [a!, b!, c!].map((w) => cosignerVerifierKey(sha256, w.name, w.pub));
    const line = (w: ReturnType<typeof key>, t: string, ts: number) =>
      cosign(ed25519Cosigner(sha256, w.name, w.pub, w.signFn), t, ts);
    const note =
      signNote(text, [ed25519Signer(sha256, log.name, log.pub, log.signFn)]) +
      line(a!, text, 1_790_000_001) +
      // b cosigned another checkpoint: its line is on this note but does not verify over this text.
      line(b!, text.replace('\n5\n', '\n6\n'), 1_790_000_002);
    const dir = tempDir();
    const file = join(dir, 'checkpoint');
    writeFileSync(file, note);
    const logVkey = ed25519VerifierKey(sha256, log.name, log.pub);
    const args = ['cosigned', file, ...vkeys.flatMap((k) => ['--witness', k]), '--vkey', logVkey];

    const one = await python([...args, '--quorum', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('checkpoint catalyst.test/py size 5, signature valid');
    expect(one.stdout).toContain('cosigned by w.test/a at 1790000001');
    expect(one.stdout).toContain('1 of 3 witnesses cosigned (quorum 1)');
    const two = await python([...args, '--quorum', '2']);
    expect(two.code).toBe(1);
    // A log key given as a witness key is refused in one line.
    const wrong = await python(['cosigned', file, '--witness', logVkey]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      'catalyst_tlog: witness key: not an Ed25519 cosigner key (type 0x04 and 32 bytes)',
    );
  });
});
