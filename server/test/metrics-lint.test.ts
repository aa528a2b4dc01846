import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { classification, startTestServer } from './helpers/server.js';
import { connect } from './helpers/ws-client.js';

/** promtool (Debian package `prometheus`) is required in CI; a laptop without it skips, saying so. */
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const havePromtool = promtool.status === 0;
const ci = process.env.CI === 'true';
const skip = !havePromtool && !ci;
const title = skip
  ? '/metrics passes promtool check metrics (SKIPPED: promtool not installed; apt-get install prometheus)'
  : '/metrics passes promtool check metrics';

describe('metrics exposition', () => {
  it.skipIf(skip)(title, async () => {
    if (!havePromtool)
      throw new Error(`CI=true but promtool is not runnable (${promtool.error?.message ?? promtool.stderr})`);
    const t = await startTestServer();
    // Traffic first, so every labelled series and histogram has samples, not just HELP/TYPE lines.
    const first = classification(1);
    expect((await t.post([first, classification(2)])).status).toBe(201);
    expect((await t.post(first)).status).toBe(200);
    expect(
      (await t.get('/v1/signals', 'cat_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status,
    ).toBe(401);
    const ws = connect(t.wsUrl, t.readKey);
    await ws.frame('hello');
    ws.send({ type: 'subscribe', from_seq: 0 });
    await ws.frame('caught_up');
    ws.send('not json');
    await ws.frame('error');
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^catalyst_signals_ingested_total 2$/m);
    expect(text).toMatch(/^catalyst_auth_failures_total\{transport="rest"\} 1$/m);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`exit ${lint.status}\n${lint.stdout}${lint.stderr}`).toBe('exit 0\n');
  });
});
