import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContext } from '../src/context.js';
import { Journal } from '../src/journal/index.js';
import { lockJournal } from '../src/journal/lock.js';
import { runCli, writeConfig } from './helpers/client-process.js';

// The client's data dir is 0700 and its files 0600 (journal with its WAL and SHM, the run lock and pid), also
// for a journal an older client made 0644; `check` warns when the config or .env is open to group/others.

const mode = (p: string) => statSync(p).mode & 0o777;

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-modes-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('file modes', () => {
  it('creates the data dir 0700 and the journal, its -wal/-shm, run.lock and run.pid 0600', () => {
    const cfg = writeConfig(dir, { server: { url: 'http://127.0.0.1:9' } });
    const ctx = loadContext(cfg, { logLevel: 'silent' });
    expect(mode(ctx.dataDir)).toBe(0o700);
    const lock = lockJournal(ctx.journalPath);
    const j = Journal.open(ctx.journalPath);
    j.setKillSwitch('a write, so the WAL has content');
    for (const f of ['journal.sqlite', 'journal.sqlite-wal', 'journal.sqlite-shm', 'run.lock', 'run.pid'])
      expect([f, mode(join(ctx.dataDir, f))]).toEqual([f, 0o600]);
    j.close();
    lock.release();
  });

  it('narrows a journal an older client left 0644, WAL and SHM included', () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    const path = join(data, 'journal.sqlite');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
    const j = Journal.open(path);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) expect([f, mode(f)]).toEqual([f, 0o600]);
    j.close();
    old.close();
  });
});

describe('check', () => {
  it('warns, with the chmod, when the config or .env is open to group/others', async () => {
    const cfg = writeConfig(dir, { server: { url: 'http://127.0.0.1:9' } });
    const env = join(dir, '.env');
    writeFileSync(env, 'CATALYST_SERVER_KEY=cat_x\n');
    chmodSync(cfg, 0o644);
    chmodSync(env, 0o640);
    const open = await runCli(['-c', cfg, 'check'], {}, dir);
    expect(open.stdout).toContain(
      `[warn] config ${cfg} is open to group/others (mode 0644): chmod 600 ${cfg}`,
    );
    expect(open.stdout).toContain(`[warn] .env ${env} is open to group/others (mode 0640): chmod 600 ${env}`);
    expect(mode(join(dir, 'catalyst-client-data'))).toBe(0o700);
    expect(existsSync(join(dir, 'catalyst-client-data', 'journal.sqlite'))).toBe(true);

    chmodSync(cfg, 0o600);
    chmodSync(env, 0o600);
    const closed = await runCli(['-c', cfg, 'check'], {}, dir);
    expect(closed.stdout).not.toContain('open to group/others');
  });
});
