import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { serverBuilt, startRealServer, type RealServer } from './helpers/real-server.js';

// What a person watching `run` reads: one line when connected and caught up, one readable line per reconnect
// attempt naming the reason (ECONNREFUSED ...), no JSON on stdout; --json leaves it all to the JSON log.

let server: RealServer | undefined;
let dir: string;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-runout-'))));
afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!serverBuilt())('run output against the real server', () => {
  it('connected line once, then readable reconnect lines; --json prints none of them', async () => {
    server = await startRealServer(join(dir, 'server'));
    const readKey = await server.createKey('friend', 'read');
    const publishKey = await server.createKey('bot', 'publish');
    const published = await server.publish(publishKey, {
      source_id: 'run-output-1',
      symbol: 'BTC',
      catalyst: 'earnings',
      direction: 'long',
      confidence: 0.9,
      price: 60000,
      headline: 'headline',
      classified_at: new Date().toISOString(),
    });
    expect(published.status).toBe(201);
    const port = new URL(server.url).port;
    const stream = `ws://127.0.0.1:${port}/v1/stream`;
    const cfg = writeConfig(dir, {
      server: {
        url: server.url,
        start_from: 'all',
        reconnect: { initial_delay_ms: 100, max_delay_ms: 300 },
      },
    });
    const env = { CATALYST_SERVER_KEY: readKey };

    const run = startClient(['-c', cfg, 'run'], env, dir);
    await run.waitStdout(
      new RegExp(`connected to ${esc(stream)}, caught up at seq 1, waiting for signals\n`),
    );
    // The signal's own line comes before the "waiting" line.
    expect(run.stdout.indexOf('#1 ')).toBeGreaterThanOrEqual(0);
    expect(run.stdout.indexOf('#1 ')).toBeLessThan(run.stdout.indexOf('connected to'));

    await server.stop();
    server = undefined;
    const refused = `ECONNREFUSED 127.0.0.1:${port}`;
    await run.waitStdout(
      new RegExp(`connection lost \\(${esc(refused)}\\); retrying in \\d+\\.\\d s \\(attempt \\d+\\)\n`),
    );
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('connected to'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    // The first loss is the server going away; every line after it is one attempt.
    const lost = lines.filter((l) => l.startsWith('connection lost'));
    expect(lost[0]).toMatch(/\(attempt 1\)$/);

    // The signing key is pinned now, so a run with the server down starts and says why it cannot connect.
    const again = startClient(['-c', cfg, 'run'], env, dir);
    await again.waitStdout(
      new RegExp(
        `cannot connect to ${esc(stream)} \\(${esc(refused)}\\); retrying in \\d+\\.\\d s \\(attempt 1\\)\n`,
      ),
    );
    const keyWarn = await again.waitLog((l) =>
      String(l['msg']).startsWith('cannot fetch the server signing key'),
    );
    expect(keyWarn['err']).toBe(`http://127.0.0.1:${port}/v1/keys/signing: ${refused}`);
    again.child.kill('SIGINT');
    expect((await again.exited).code).toBe(0);

    // --json: nothing readable about the connection on stdout; the JSON log carries the reason.
    const json = startClient(['-c', cfg, 'run', '--json'], env, dir);
    const rec = await json.waitLog((l) => l['msg'] === 'stream lost; reconnecting');
    expect(rec['why']).toBe(refused);
    expect(rec['url']).toBe(stream);
    json.child.kill('SIGINT');
    expect((await json.exited).code).toBe(0);
    expect(json.stdout).not.toMatch(/connect|retrying/);
  });
});

describe('run with no pinned key and no server', () => {
  it('exits 1 naming the URL and ECONNREFUSED, not "fetch failed"', async () => {
    // A port that listened a moment ago and is closed now.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const cfg = writeConfig(dir, { server: { url: `http://127.0.0.1:${port}` } });
    const r = await runCli(['-c', cfg, 'run'], { CATALYST_SERVER_KEY: 'cat_test' }, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `no server signing key pinned yet and the server is unreachable: http://127.0.0.1:${port}/v1/keys/signing: ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(r.stderr).not.toContain('fetch failed');
  });
});
