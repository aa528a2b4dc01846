import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, writeConfig } from './helpers/client-process.js';

// A mistyped --config must not answer "(no decisions)" from a journal it just created: the commands that read
// or flip a journal refuse a missing one with one line and exit 2, and create nothing (as the server's
// operator commands refuse a missing data dir).

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-nojournal-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('read-only commands on a missing journal', () => {
  it.each([['status'], ['status', '--json'], ['history'], ['dashboard'], ['pause'], ['resume']])(
    '%s exits 2 with one line and creates nothing',
    async (...cmd) => {
      writeConfig(dir, { server: { url: 'http://127.0.0.1:9' }, data_dir: './wrong-data' });
      const r = await runCli(['-c', 'catalyst.yaml', ...cmd], { CATALYST_SERVER_KEY: 'cat_x' }, dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`no journal at ${join(dir, 'wrong-data', 'journal.sqlite')}`);
      expect(r.stderr).toContain('is catalyst.yaml the config your `run` uses?');
      expect(existsSync(join(dir, 'wrong-data'))).toBe(false);
    },
  );
});
