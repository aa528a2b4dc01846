import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI as SERVER_CLI, ChildServer } from '../../server/test/helpers/child-server.js';
import { tempDir } from '../../server/test/helpers/server.js';
import { runCli, writeConfig } from './helpers/client-process.js';

/** What the operator reads out to friends after a rotation: `catalyst-server keys signing`. */
function operatorFingerprint(dataDir: string): string {
  const r = spawnSync(process.execPath, [SERVER_CLI, 'keys', 'signing', '--data-dir', dataDir, '--json'], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { fingerprint: string }).fingerprint;
}

describe('catalyst-client pin (re-pinning after an announced server key rotation)', () => {
  it(
    'refuses blind or mismatched replacement, replaces with the operator fingerprint, shows old and new',
    { timeout: 120_000 },
    async () => {
      const server = await ChildServer.start();
      const dir = tempDir('cc-pin-');
      const cfg = writeConfig(dir, { server: { url: server.url }, data_dir: './data' });
      const env = { CATALYST_SERVER_KEY: server.keys.readKey };
      const oldFp = operatorFingerprint(server.dataDir);

      const first = await runCli(['-c', cfg, 'pin'], env, dir);
      expect(first.stdout).toContain(`pinned ${oldFp}`);
      expect(first.code, first.stderr).toBe(0);

      // The operator rotates the signing key: a new key file, restart.
      await server.kill('SIGTERM');
      rmSync(join(server.dataDir, 'signing-key.pem'));
      await server.spawn();
      writeConfig(dir, { server: { url: server.url }, data_dir: './data' }); // a restart listens on a new port 0
      const newFp = operatorFingerprint(server.dataDir);
      expect(newFp).not.toBe(oldFp);

      // check reports the change and names the way out; that way must exist.
      const check = await runCli(['-c', cfg, 'check'], env, dir);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(
        `npx --no -- catalyst-client --config ${cfg} pin --replace --fingerprint`,
      );

      const noReplace = await runCli(['-c', cfg, 'pin'], env, dir);
      expect(noReplace.code).toBe(5);
      expect(noReplace.stderr).toContain('CHANGED');

      const blind = await runCli(['-c', cfg, 'pin', '--replace'], env, dir);
      expect(blind.code).toBe(5);
      expect(blind.stderr).toContain('never replaced blind');

      const wrong = await runCli(['-c', cfg, 'pin', '--replace', '--fingerprint', oldFp], env, dir);
      expect(wrong.code).toBe(5);
      expect(wrong.stderr).toContain(`the server presents ${newFp}`);

      const status0 = await runCli(['-c', cfg, 'status', '--json'], env, dir);
      expect(JSON.parse(status0.stdout).pinned_key).toBe(oldFp);

      // The bare thumbprint (the JWKS kid) is accepted as well as SHA256:<kid>.
      const ok = await runCli(
        ['-c', cfg, 'pin', '--replace', '--fingerprint', newFp.slice('SHA256:'.length)],
        env,
        dir,
      );
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`old ${oldFp}`);
      expect(ok.stdout).toContain(`new ${newFp}`);
      const status1 = await runCli(['-c', cfg, 'status', '--json'], env, dir);
      expect(JSON.parse(status1.stdout).pinned_key).toBe(newFp);

      const again = await runCli(['-c', cfg, 'check'], env, dir);
      expect(again.code, again.stdout).toBe(0);
    },
  );
});
