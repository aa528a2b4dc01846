import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../server/test/helpers/server.js';
import { loadContext } from '../src/context.js';
import { Journal } from '../src/journal/index.js';

/**
 * deploy/systemd/catalyst-client.service must run the config that `catalyst-client init` writes, through the
 * same npx form the docs use. The unit is read as systemd would (%h = the home directory) and its ExecStart is
 * executed for real in a temp home, with `run` swapped for `status` (same config loading, no server needed).
 */
const REPO = resolve(import.meta.dirname, '../..');
const UNIT = join(REPO, 'deploy/systemd/catalyst-client.service');

function unitValue(text: string, key: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`${key}= not in ${UNIT}`);
  return line.slice(key.length + 1);
}

function run(argv: string[], cwd: string) {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', env: process.env, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the client systemd user unit', () => {
  it('ExecStart --config is the file `catalyst-client init` writes in WorkingDirectory, and it loads', () => {
    const unit = readFileSync(UNIT, 'utf8');
    const home = tempDir('cc-home-');
    const h = (v: string) => v.replaceAll('%h', home);
    const workDir = h(unitValue(unit, 'WorkingDirectory'));
    const exec = h(unitValue(unit, 'ExecStart')).split(/\s+/);
    const cfgAt = exec.indexOf('--config');
    expect(cfgAt, 'ExecStart passes --config').toBeGreaterThan(0);
    const configPath = exec[cfgAt + 1]!;

    // The friend's install (docs/client.md): the client bin in <WorkingDirectory>/node_modules/.bin.
    mkdirSync(join(workDir, 'node_modules/.bin'), { recursive: true });
    symlinkSync(
      join(REPO, 'client/bin/catalyst-client.js'),
      join(workDir, 'node_modules/.bin/catalyst-client'),
    );

    // docs/client.md: `npx --no -- catalyst-client init` in that folder.
    const init = run(['npx', '--no', '--', 'catalyst-client', 'init'], workDir);
    expect(init.code, init.out).toBe(0);
    const written = /wrote (\S+)/.exec(init.out)?.[1];
    expect(written && resolve(workDir, written)).toBe(configPath);
    expect(existsSync(configPath)).toBe(true);

    expect(exec).toContain('run');
    // status reads an existing journal only: the one the first `run` would create.
    const journal = Journal.open(loadContext(configPath, { logLevel: 'silent' }).journalPath);
    journal.close();
    const status = run(
      exec.map((a) => (a === 'run' ? 'status' : a)),
      workDir,
    );
    expect(status.code, status.out).toBe(0);
    expect(status.out).toContain('mode: paper');
  });

  it('does not restart on the exits a person must resolve (2 config, 3 stopped, 4 halted or refused, 5 key changed)', () => {
    const unit = readFileSync(UNIT, 'utf8');
    expect(unitValue(unit, 'Restart')).toBe('on-failure');
    // 3 included: a revoked key (exit 3 on every start) restarted into a silent loop.
    expect(unitValue(unit, 'RestartPreventExitStatus').split(/\s+/)).toEqual(['2', '3', '4', '5']);
  });
});
