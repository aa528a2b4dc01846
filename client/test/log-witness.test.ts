import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cosignatureVerifier, verifiedCosignatures } from '@catalyst-signal/shared';
import {
  classification,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../server/test/helpers/server.js';
import { pollUntil } from '../../server/test/helpers/nats-cluster.js';
import { Journal } from '../src/journal/index.js';
import { ed25519Verify, sha256 } from '../src/log-verify.js';
import { loadWitnessKey } from '../src/log-witness.js';
import { WITNESS_POLICY_META } from '../src/notify/witness-watch.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { startTestEngine } from './helpers/engine.js';
import { ServiceServer } from './helpers/notify-services.js';
import { waitEvent } from './helpers/wait.js';

/**
 * Issue 24, witnesses end to end: two clients cosign what they verified and send it over their stream; the
 * real server keeps and serves the cosignatures; a third client with a 2-of-2 witness policy alerts (never halts)
 * when one witness stops, and says so again when it is back.
 */

const ORIGIN = 'catalyst.test/witnessed';
const closers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c.close();
});

const config = (url: string, log: object, extra: object = {}) => ({
  server: { url, start_from: 'all' as const },
  risk: { cooldown_per_symbol_ms: 0 },
  paper: { slippage_pct: 0, fee_rate: 0 },
  log: { verify: 'on' as const, max_proof_wait_ms: 5000, ...log },
  ...extra,
});

async function served(s: TestServer): Promise<string> {
  const r = await fetch(`${s.url}/v1/log/checkpoint`, { headers: { authorization: `Bearer ${s.readKey}` } });
  return r.text();
}

describe('witnesses', () => {
  it('the witness key is made once, 0600, in the data dir; the same vkey every time', () => {
    const dir = tempDir();
    const a = loadWitnessKey(dir, 'witness-key.pem', 'w.test/a');
    expect(statSync(join(dir, 'witness-key.pem')).mode & 0o777).toBe(0o600);
    expect(loadWitnessKey(dir, 'witness-key.pem', 'w.test/a').vkey).toBe(a.vkey);
    expect(a.vkey.startsWith('w.test/a+')).toBe(true);
    // Type 0x04: a cosigner key, never usable as (or mistaken for) a log key.
    expect(Buffer.from(a.vkey.split('+')[2]!, 'base64')[0]).toBe(0x04);
  });

  it('`log witness-key` makes the key on first use and prints the same vkey every time', async () => {
    const dir = tempDir();
    const config = writeConfig(dir, {
      data_dir: dir,
      server: { url: 'http://127.0.0.1:9' },
      log: { witness: { enabled: true, name: 'w.test/cli' } },
    });
    const first = await runCli(['-c', config, 'log', 'witness-key'], {}, dir);
    expect(first.code, first.stderr).toBe(0);
    const vkey = first.stdout.trim();
    expect(vkey).toBe(loadWitnessKey(dir, 'witness-key.pem', 'w.test/cli').vkey);
    expect((await runCli(['-c', config, 'log', 'witness-key'], {}, dir)).stdout.trim()).toBe(vkey);
    // A witness needs the log verified: a config that turns it off is refused with one line.
    const bad = writeConfig(dir, {
      server: { url: 'http://127.0.0.1:9' },
      log: { verify: 'off', witness: { enabled: true } },
    });
    const refused = await runCli(['-c', bad, 'log', 'witness-key'], {}, dir);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/log\.witness and log\.witness_policy need log\.verify/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('two clients cosign over the stream; a 2-of-2 policy alerts when one stops and recovers when it is back', async () => {
    const dirs = { a: tempDir(), b: tempDir(), friend: tempDir() };
    const vkeyA = loadWitnessKey(dirs.a, 'witness-key.pem', 'w.test/a').vkey;
    const vkeyB = loadWitnessKey(dirs.b, 'witness-key.pem', 'w.test/b').vkey;
    const s = await startTestServer({
      log: {
        origin: ORIGIN,
        checkpoint_interval_ms: 50,
        witnesses: [
          { name: 'a', vkey: vkeyA },
          { name: 'b', vkey: vkeyB },
        ],
      },
    });
    const verifiers = [vkeyA, vkeyB].map((k) => cosignatureVerifier(sha256, k, ed25519Verify));
    const cosignedBy = async () => verifiedCosignatures(await served(s), verifiers).map((c) => c.name);
    const witnessConfig = (name: string) => config(s.url, { witness: { enabled: true, name } });
    const a = await startTestEngine({ dir: dirs.a, config: witnessConfig('w.test/a'), serverKey: s.readKey });
    let b = await startTestEngine({ dir: dirs.b, config: witnessConfig('w.test/b'), serverKey: s.readKey });
    const json = await ServiceServer.start('json');
    closers.push(json);
    const friend = await startTestEngine({
      dir: dirs.friend,
      config: config(
        s.url,
        { witness_policy: { keys: [vkeyA, vkeyB], quorum: 2, within_ms: 1000 } },
        {
          notify: [
            { url: `json://${json.host}/hook`, events: ['witness_quorum_lost', 'witness_quorum_back'] },
          ],
        },
      ),
      serverKey: s.readKey,
    });
    expect((await s.post(classification())).status).toBe(201);
    await waitEvent(friend.engine.connection, 'applied', (seq: number) => seq === 1);
    // Both witnesses' cosignatures reach the served checkpoint.
    const t0 = Date.now();
    await pollUntil(
      'both cosignatures served',
      async () => ((await cosignedBy()).length === 2 ? true : undefined),
      10_000,
    );
    console.log(
      `POST -> checkpoint cosigned by 2 witnesses: ${Date.now() - t0} ms after the signal was applied`,
    );

    // Witness b stops; the next checkpoint gets a's cosignature only: the friend alerts past within_ms.
    await b.stop();
    expect((await s.post(classification())).status).toBe(201);
    await waitEvent(friend.engine.connection, 'applied', (seq: number) => seq === 2);
    const [lost] = await json.waitDelivered(1);
    expect(lost!.body).toMatchObject({ kind: 'witness_quorum_lost', priority: 4 });
    expect(lost!.body['title']).toBe('transparency log not witnessed: 1 of 2 cosignatures');
    expect(friend.exitCode()).toBeUndefined(); // an alert, never a halt
    expect(await cosignedBy()).toEqual(['w.test/a']);

    // b is back: it cosigns the latest checkpoint, the server re-sends it, the friend's quorum is back.
    b = await startTestEngine({ dir: dirs.b, config: witnessConfig('w.test/b'), serverKey: s.readKey });
    const [, back] = await json.waitDelivered(2);
    expect(back!.body).toMatchObject({
      kind: 'witness_quorum_back',
      title: 'transparency log witnessed again',
    });
    expect((await s.post(classification())).status).toBe(201);
    await waitEvent(friend.engine.connection, 'applied', (seq: number) => seq === 3);
    expect(friend.exitCode()).toBeUndefined();
    await Promise.all([a.stop(), b.stop(), friend.stop()]);
    const j = Journal.open(friend.journalPath);
    const meta = JSON.parse(j.meta(WITNESS_POLICY_META)!) as { ok: boolean; cosigned: number };
    j.close();
    expect(meta).toMatchObject({ ok: true, cosigned: 2 });
  });
});
