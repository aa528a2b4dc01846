import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { CLI, writeConfig } from './helpers/client-process.js';

// `--help` (and the journal-only commands) must never import ccxt: a module hook makes importing it throw, and
// a positive control proves the hook would catch it.

const HOOK = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
   register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, n) { if (s === "ccxt") throw new Error("CCXT_IMPORTED"); return n(s, c); }'));`,
)}`;

function cli(args: string[], cwd: string) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', HOOK, CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], CATALYST_SERVER_KEY: 'cat_x' },
  });
  return { ...r, ms: Date.now() - t0 };
}

describe('lazy loading', () => {
  it('--help, status and history never import ccxt; check with an exchange does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-lazy-'));
    try {
      const help = cli(['--help'], dir);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain('catalyst-client');
      writeConfig(dir, {
        exchange: { id: 'binance', base_url: 'http://127.0.0.1:9' },
        server: { url: 'http://127.0.0.1:9' },
      });
      // These commands work on an existing journal only (a wrong --config must not create one).
      mkdirSync(join(dir, 'catalyst-client-data'));
      Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite')).close();
      for (const cmd of [['status'], ['history'], ['pause'], ['resume']]) {
        const r = cli(cmd, dir);
        expect(r.status, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
      }
      const control = cli(['check'], dir);
      expect(control.stderr).toContain('CCXT_IMPORTED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
