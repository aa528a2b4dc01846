import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/server.js';
import { runCli } from './helpers/cli.js';

/** Every command except init and serve, with the arguments it needs besides --data-dir. */
const COMMANDS: string[][] = [
  ['keys', 'list'],
  ['keys', 'create', '--name', 'x', '--scope', 'read'],
  ['keys', 'revoke', 'x'],
  ['keys', 'rotate', 'x'],
  ['keys', 'signing'],
  ['db', 'prune', '--keep-days', '1'],
  ['db', 'check'],
  ['stats'],
];

describe('commands never create a data directory', () => {
  it('a missing directory: exit 2, one line naming it, nothing created', async () => {
    const dir = path.join(tempDir(), 'nonexistent');
    for (const args of [...COMMANDS, ['db', 'backup', path.join(tempDir(), 'b.db')]]) {
      const r = await runCli([...args, '--data-dir', dir]);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain(dir);
      expect(r.stderr).toMatch(/init/);
      expect(r.stdout).toBe('');
      expect(existsSync(dir), args.join(' ')).toBe(false);
    }
  });

  it('an empty directory (wrong cwd, typo): exit 2, and it stays empty; no new fingerprint is printed', async () => {
    const dir = path.join(tempDir(), 'empty');
    mkdirSync(dir);
    for (const args of COMMANDS) {
      const r = await runCli([...args, '--data-dir', dir]);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).not.toMatch(/fingerprint|no keys/i);
      expect(readdirSync(dir), args.join(' ')).toEqual([]);
    }
  });
});
