import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import { startTestServer, tempDir } from '../../server/test/helpers/server.js';
import { startTrackRecordFixture, type TrackRecordFixture } from '../../server/test/helpers/track-record.js';
import { OUTCOME_DB_FILE } from '../../server/src/store/outcome-db.js';
import { EXIT } from '../src/errors.js';
import { runCli, writeConfig } from './helpers/client-process.js';
import { startTestEngine } from './helpers/engine.js';

/**
 * `catalyst-client track-record verify` through the built CLI: a real server's own outcome worker computed the
 * outcomes from the emulator's bars; a real client followed the server and journaled the signals; verify
 * recomputes them from the same emulator with the client's own data keys and agrees. Then one stored outcome
 * is edited in the server's outcomes.db (while it is down, so no cached answer hides it): MISMATCH, exit 1.
 */

let fx: TrackRecordFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
  vi.unstubAllEnvs();
});

describe('track-record verify', () => {
  it('recomputes the served outcomes from the journal and Alpaca bars: match, then MISMATCH after an edit', async () => {
    fx = await startTrackRecordFixture();
    const f = fx;
    const cdir = tempDir();
    const t = await startTestEngine({
      dir: cdir,
      config: { server: { url: f.srv.url, start_from: 'all' } },
      serverKey: f.srv.readKey,
    });
    const last = Math.max(...Object.values(f.seqs));
    // The history was published before the client started: it catches up, deciding each (stale) signal.
    await vi.waitFor(() => expect(t.applied).toContain(last), { timeout: 20_000, interval: 50 });
    await t.stop();

    const cfg = (url: string) =>
      writeConfig(cdir, {
        data_dir: '.',
        server: { url },
        exchange: { venue: 'us_equity', alpaca: { base_url: f.emu.url } },
      });
    const env = (key: string) => ({
      CATALYST_SERVER_KEY: key,
      APCA_API_KEY_ID: f.emu.keyId,
      APCA_API_SECRET_KEY: f.emu.secret,
    });
    const verify = (url: string, key: string, ...extra: string[]) =>
      runCli(['-c', cfg(url), 'track-record', 'verify', '--seed', '7', ...extra], env(key), cdir);

    const ok = await verify(f.srv.url, f.srv.readKey);
    expect(ok.stderr).toBe('');
    expect(ok.code, ok.stdout).toBe(0);
    // The four us_equity signals (the crypto one has no outcome), each compared at every horizon.
    for (const s of [f.seqs.fda, f.seqs.avoid, f.seqs.halted, f.seqs.info])
      expect(ok.stdout).toMatch(
        new RegExp(`^seq ${s} \\S+ \\S+ \\S+: match \\(${HORIZONS.length} horizons\\)$`, 'm'),
      );
    expect(ok.stdout).toMatch(
      /4 of 4 signals \(seed 7\): 4 match, 0 mismatch, 0 not served yet; tolerance 1e-9/,
    );
    // The bars came through the client's own cache (bars.sqlite beside the journal).
    const cache = new Database(join(cdir, 'bars.sqlite'), { readonly: true });
    expect((cache.prepare('SELECT COUNT(*) AS n FROM bars').get() as { n: number }).n).toBeGreaterThan(0);
    cache.close();

    // The server edits one figure of the fda entry's 1h outcome while it is down.
    await f.srv.close();
    const odb = new Database(join(f.srv.dataDir, OUTCOME_DB_FILE));
    const row = odb
      .prepare("SELECT figures FROM outcomes WHERE seq = ? AND horizon = '1h'")
      .get(f.seqs.fda) as {
      figures: string;
    };
    const figures = JSON.parse(row.figures) as { ret: number };
    const edited = figures.ret + 0.01;
    odb
      .prepare("UPDATE outcomes SET figures = ?, ret = ? WHERE seq = ? AND horizon = '1h'")
      .run(JSON.stringify({ ...figures, ret: edited }), edited, f.seqs.fda);
    odb.close();
    const srv2 = await startTestServer(
      {
        outcomes: {
          alpaca_key_id: f.emu.keyId,
          alpaca_secret_env: 'TEST_APCA_SECRET',
          data_url: f.emu.url,
          interval_s: 1,
        },
      },
      f.srv.dataDir,
    );
    const bad = await verify(srv2.url, srv2.readKey);
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(
      new RegExp(
        `^seq ${f.seqs.fda} AAPL enter \\S+: MISMATCH 1h ret server=${edited} recomputed=${figures.ret}$`,
        'm',
      ),
    );
    expect(bad.stdout).toMatch(/3 match, 1 mismatch/);

    // A sample: the same seed draws the same signals.
    const two = await verify(srv2.url, srv2.readKey, '--sample', '2');
    const again = await verify(srv2.url, srv2.readKey, '--sample', '2');
    expect(two.stdout).toMatch(/2 of 4 signals \(seed 7\)/);
    expect(two.stdout.match(/^seq \d+/gm)).toHaveLength(2);
    expect(again.stdout).toBe(two.stdout);

    // Usage errors: exit 2, one line.
    const usage = await verify(srv2.url, srv2.readKey, '--sample', '0');
    expect(usage.code).toBe(EXIT.config);
    expect(usage.stderr.trim().split('\n')).toHaveLength(1);
    const noKeys = await runCli(
      ['-c', cfg(srv2.url), 'track-record', 'verify'],
      { CATALYST_SERVER_KEY: srv2.readKey },
      cdir,
    );
    expect(noKeys.code).toBe(EXIT.config);
    expect(noKeys.stderr).toMatch(/set APCA_API_KEY_ID and APCA_API_SECRET_KEY/);
  }, 90_000);
});
