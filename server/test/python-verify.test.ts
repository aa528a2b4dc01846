import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClassificationSchema,
  illFormedStringPath,
  UNSAFE_TEXT_RE,
  type ClassificationInput,
} from '@catalyst-signal/shared';
import { NASTY_NUMBERS, NASTY_STRINGS, signalClassification } from './fuzz/arbitraries.js';
import { DB_FILE } from '../src/store/db.js';
import { ChildServer } from './helpers/child-server.js';
import { answering, refusedUrl } from './helpers/status-server.js';

/**
 * The signature payload is RFC 8785 (docs/protocol.md): a verifier in another language, written from that
 * spec, must verify every signal. integrations/python/catalyst_verify.py is such a verifier (standard library
 * only, Ed25519 from RFC 8032); it runs here with the machine's python3 against a real server process.
 */
const PY_DIR = fileURLToPath(new URL('../../integrations/python/', import.meta.url));
const COUNT = 2500;

function python(
  args: string[],
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', args, { cwd: PY_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(stdin ?? '');
  });
}

/** Valid classifications only: the arbitraries can overshoot meta's bounds, and lone surrogates are refused. */
function generate(n: number): ClassificationInput[] {
  const out: ClassificationInput[] = [];
  let i = 0;
  const arb = signalClassification(fc.constant('x')).filter(
    (c) => ClassificationSchema.safeParse(c).success && !illFormedStringPath(c),
  );
  for (const c of fc.sample(arb, { numRuns: n, seed: 8785 }))
    out.push({ ...(c as ClassificationInput), source_id: `py-${i++}` });
  // The vectors' nasty values, explicitly, in every position a number or a string can take.
  NASTY_NUMBERS.forEach((x, j) => {
    out.push({
      ...out[j]!,
      source_id: `py-num-${j}`,
      price: x,
      stop_loss: x,
      take_profit: x,
      score: -x,
      confidence: x <= 1 ? x : 1,
      meta: { x, neg: -x, nested: { list: [x, -0, { [NASTY_STRINGS[j % NASTY_STRINGS.length]!]: x }] } },
    });
  });
  NASTY_STRINGS.forEach((s, j) => {
    out.push({
      ...out[j]!,
      source_id: `py-str-${j}`,
      // Ingest refuses control and bidi characters in text fields; meta still carries every nasty string.
      ...(UNSAFE_TEXT_RE.test(s) ? {} : { headline: s, source: s.slice(0, 100) }),
      meta: { [s]: s },
    });
  });
  return out;
}

describe('a Python verifier written from docs/protocol.md (standard library only)', () => {
  it('passes the published vectors (python3 -m unittest)', async () => {
    const r = await python(['-m', 'unittest', '-v', 'test_catalyst_verify.py']);
    expect(r.code, r.stderr).toBe(0);
  });

  it(
    `verifies 100 % of ${COUNT}+ generated signals from a real server, and fails a tampered one`,
    { timeout: 240_000 },
    async () => {
      const server = await ChildServer.start();
      const all = generate(COUNT);
      for (let i = 0; i < all.length; i += 500) {
        const res = await fetch(`${server.url}/v1/signals`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.keys.publishKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(all.slice(i, i + 500)),
        });
        expect(res.status, await res.clone().text()).toBe(201);
      }
      const cli = ['catalyst_verify.py', '--server', server.url, '--key', server.keys.readKey];
      const ok = await python(cli);
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toContain(`verified ${all.length}, failed 0`);
      expect(ok.code).toBe(0);

      // Tamper with one stored body behind the server's back (a changed price): the CLI must say so and exit 1.
      // (Only the last few signals are verified again: the full pass above already took its time.)
      const last = all.length;
      const db = new Database(path.join(server.dataDir, DB_FILE));
      try {
        const row = db.prepare('SELECT body FROM signals WHERE seq = ?').get(last) as { body: string };
        const s = JSON.parse(row.body) as { price: number };
        s.price = s.price * 2;
        db.prepare('UPDATE signals SET body = ? WHERE seq = ?').run(JSON.stringify(s), last);
      } finally {
        db.close();
      }
      const bad = await python([...cli, '--after-seq', String(last - 3)]);
      expect(bad.stdout).toContain('verified 2, failed 1');
      expect(bad.stderr).toContain(`FAILED seq ${last}: bad signature`);
      expect(bad.code).toBe(1);
    },
  );

  it('--server repeated: a refused and a 502 gateway are skipped, the next one is verified; a 401 is not retried elsewhere', async () => {
    const server = await ChildServer.start();
    const res = await fetch(`${server.url}/v1/signals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.publishKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(generate(3).slice(0, 3)),
    });
    expect(res.status).toBe(201);
    const sick = await answering(502);
    try {
      const dead = await refusedUrl();
      const args = ['catalyst_verify.py', '--server', dead, '--server', sick.url, '--server', server.url];
      const ok = await python([...args, '--key', server.keys.readKey]);
      expect(ok.stdout).toContain('verified 3, failed 0');
      expect(ok.stderr).toContain(`${sick.url}: HTTP 502; trying the next server`);
      expect(ok.code).toBe(0);
      const refused = await python([
        'catalyst_verify.py',
        '--server',
        `${server.url},${sick.url}`,
        '--key',
        'cat_not_a_key',
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/refused the read key \(HTTP 401/);
      expect(refused.stderr).not.toContain('trying the next server');
    } finally {
      await sick.close();
    }
  });

  it('a wrong key, a dead server, https against http: one line each, a documented exit code, no traceback', async () => {
    const server = await ChildServer.start();
    const verify = (url: string, key = server.keys.readKey) =>
      python(['catalyst_verify.py', '--server', url, '--key', key]);
    const oneLine = (stderr: string) => {
      expect(stderr).not.toContain('Traceback');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    };

    const wrong = await verify(server.url, `cat_000000000000_${'A'.repeat(43)}`);
    expect(wrong.code).toBe(2);
    oneLine(wrong.stderr);
    expect(wrong.stderr).toMatch(/^catalyst_verify: http:\/\/.+ refused the read key \(HTTP 401: .+\)$/m);

    const dead = await refusedUrl();
    const down = await verify(dead);
    expect(down.code).toBe(3);
    oneLine(down.stderr);
    expect(down.stderr).toBe(
      `catalyst_verify: connection refused at ${dead} (is the server running, on that port?)\n`,
    );

    // An http server that answers a TLS hello at once (Node's; uWS waits for its idle timeout first).
    const plain = await answering(200);
    try {
      const https = plain.url.replace('http:', 'https:');
      const tls = await verify(https);
      expect(tls.code).toBe(3);
      oneLine(tls.stderr);
      expect(tls.stderr).toMatch(
        new RegExp(
          `^catalyst_verify: TLS handshake with ${https} failed \\(is the server http, not https\\?\\)`,
        ),
      );
    } finally {
      await plain.close();
    }
  });
});
