import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  EXIT,
  exitCodeOf,
  JournalVersionError,
  KeyPinError,
  LogHalted,
  RunRefused,
  TradingStopped,
} from '../src/errors.js';
import { Journal, SCHEMA_VERSION } from '../src/journal/index.js';
import { runCli, writeConfig } from './helpers/client-process.js';

// The CLI ends a command with the exit code of the error's class, mapped in one place (errors.ts).

describe('exit codes', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-exit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('by class, never by a name that merely looks right', () => {
    expect(exitCodeOf(new ConfigError([{ path: 'mode', message: 'bad' }]))).toBe(2);
    expect(exitCodeOf(new RunRefused('no'))).toBe(4);
    expect(exitCodeOf(new KeyPinError('changed'))).toBe(5);
    expect(exitCodeOf(new JournalVersionError('newer'))).toBe(6);
    // A log halt is a trading stop with its own code: the evidence makes it a different situation from exit 3.
    expect(exitCodeOf(new LogHalted('forked', undefined))).toBe(7);
    expect(exitCodeOf(new TradingStopped('stopped'))).toBe(3);
    const lookalike = Object.assign(new Error('x'), { name: 'ConfigError' });
    expect(exitCodeOf(lookalike)).toBe(EXIT.error);
  });

  it('a journal from a newer client: its own exit code and one line, no stack', async () => {
    const configPath = writeConfig(dir, { data_dir: 'data' });
    mkdirSync(join(dir, 'data'));
    Journal.open(join(dir, 'data', 'journal.sqlite')).close();
    const db = new Database(join(dir, 'data', 'journal.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const r = await runCli(['-c', configPath, 'status'], {}, dir);
    expect(r.code).toBe(EXIT.journalTooNew);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^catalyst-client: /);
  });
});
