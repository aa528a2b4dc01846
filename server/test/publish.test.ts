import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { publish } from '../src/commands/publish.js';
import { runCli } from './helpers/cli.js';
import { classification, startTestServer, tempDir } from './helpers/server.js';
import { answering, refusedUrl } from './helpers/status-server.js';

describe('publish (JSONL)', () => {
  it('reports every line in input order, validation problems as "field: message", one per line', async () => {
    const t = await startTestServer();
    const a = classification(1);
    const lines = [
      JSON.stringify(a), // 1
      JSON.stringify({ ...classification(2), confidence: 7, direction: 'up' }), // 2: two fields wrong
      JSON.stringify(classification(3)), // 3
      'not json', // 4
      '', // 5: blank, skipped silently
      JSON.stringify(classification(6)), // 6
      JSON.stringify(a), // 7: duplicate of 1
      JSON.stringify({ ...classification(8), direction: 'sideways' }), // 8
      JSON.stringify(classification(9)), // 9
    ];
    const file = path.join(tempDir(), 'in.jsonl');
    writeFileSync(file, lines.join('\n'));
    const out: string[] = [];
    const summary = await publish(
      file,
      { url: t.url, key: t.publishKey, batch: 2 },
      (l) => out.push(l),
      () => {},
    );
    expect(summary).toEqual({ accepted: 4, duplicate: 1, rejected: 3 });
    const reported = out.filter((l) => l.startsWith('line ')).map((l) => Number(/^line (\d+):/.exec(l)![1]));
    expect(reported).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
    const text = out.join('\n');
    expect(text).toMatch(/^line 1: accepted seq 1$/m);
    expect(text).toMatch(/^line 2: rejected \(2 problems\)\n {2}direction: .+\n {2}confidence: .+$/m);
    expect(text).toMatch(/^line 3: accepted seq 2$/m);
    expect(text).toMatch(/^line 4: rejected \(not JSON\)$/m);
    expect(text).toMatch(/^line 7: duplicate seq 1$/m);
    expect(text).toMatch(/^line 8: rejected \(1 problem\)\n {2}direction: .+$/m);
    expect(text).toMatch(/^line 9: accepted seq 4$/m);
    // No line is a wall of text: every field problem has its own line.
    for (const l of out) expect(l).not.toContain(';');
  });
});

describe('publish (the CLI) when no server answers', () => {
  const file = () => {
    const f = path.join(tempDir(), 'in.jsonl');
    writeFileSync(f, `${JSON.stringify(classification(1))}\n`);
    return f;
  };

  it('names the cause in one line and exits 3: connection refused, https against an http server', async () => {
    const dead = await refusedUrl();
    const refused = await runCli(['publish', file(), '--url', dead], {
      env: { CATALYST_PUBLISH_KEY: 'cat_000000000000_x' },
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe(
      `catalyst-server: connection refused at ${dead} (is the server running, on that port?)\n`,
    );

    // An http server (Node's answers a TLS hello at once; uWS waits out its 10 s idle timeout, same message).
    const plain = await answering(200);
    try {
      const https = plain.url.replace('http:', 'https:');
      const tls = await runCli(['publish', file(), '--url', https], {
        env: { CATALYST_PUBLISH_KEY: 'cat_000000000000_x' },
      });
      expect(tls.code).toBe(3);
      expect(tls.stderr).toMatch(
        new RegExp(
          `^catalyst-server: TLS handshake with ${https} failed \\(\\w+\\): is the server http\\? \\(then use http://\\)\\n$`,
        ),
      );
      expect(tls.stderr).not.toMatch(/fetch failed|at .*\.js:\d+/);
    } finally {
      await plain.close();
    }
  });
});

describe('publish (the CLI): where the key comes from', () => {
  it('reads it from CATALYST_PUBLISH_KEY or --key-file; --key still works, with a warning, and is not in --help', async () => {
    const t = await startTestServer();
    const dir = tempDir();
    const input = (n: number) => {
      const f = path.join(dir, `in-${n}.jsonl`);
      writeFileSync(f, `${JSON.stringify(classification(n))}\n`);
      return f;
    };
    const noEnv = { CATALYST_PUBLISH_KEY: '' };

    const fromEnv = await runCli(['publish', input(1), '--url', t.url], {
      env: { CATALYST_PUBLISH_KEY: t.publishKey },
    });
    expect([fromEnv.code, fromEnv.stderr]).toEqual([0, '']);
    expect(fromEnv.stdout).toContain('accepted 1,');

    const keyFile = path.join(dir, 'publish.key');
    writeFileSync(keyFile, `${t.publishKey}\n`, { mode: 0o600 });
    const fromFile = await runCli(['publish', input(2), '--url', t.url, '--key-file', keyFile], {
      env: noEnv,
    });
    expect([fromFile.code, fromFile.stderr]).toEqual([0, '']);

    const open = path.join(dir, 'open.key');
    writeFileSync(open, t.publishKey, { mode: 0o644 });
    chmodSync(open, 0o644);
    const readable = await runCli(['publish', input(3), '--url', t.url, '--key-file', open], { env: noEnv });
    expect(readable.code).toBe(0);
    expect(readable.stderr).toBe(
      `catalyst-server: warning: ${open} is readable by other users: chmod 600 ${open}\n`,
    );

    const missing = await runCli(
      ['publish', input(4), '--url', t.url, '--key-file', path.join(dir, 'nope')],
      {
        env: noEnv,
      },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^catalyst-server: cannot read --key-file .*nope: ENOENT\n$/);

    const onCommandLine = await runCli(['publish', input(5), '--url', t.url, '--key', t.publishKey], {
      env: noEnv,
    });
    expect(onCommandLine.code).toBe(0);
    expect(onCommandLine.stderr).toMatch(/warning: --key puts the key in the process list/);

    const none = await runCli(['publish', input(6), '--url', t.url], { env: noEnv });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      'catalyst-server: a publish key is needed: CATALYST_PUBLISH_KEY or --key-file\n',
    );

    const help = await runCli(['publish', '--help']);
    expect(help.stdout).toContain('--key-file');
    expect(help.stdout).not.toMatch(/--key </);
  });
});
