import { writeFileSync } from 'node:fs';
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
