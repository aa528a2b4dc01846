import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCheckpointer } from '../src/store/checkpointer.js';
import { openDb, DB_FILE } from '../src/store/db.js';
import { tempDir } from './helpers/server.js';

describe('WAL checkpointer thread', () => {
  it('a worker that dies early reports it once and never hangs stop()', async () => {
    // The data directory removed under a running server (seen when a test's temp dir went first).
    const missing = path.join(tempDir(), 'gone', DB_FILE);
    const failures: Error[] = [];
    let reported = () => {};
    const failed = new Promise<void>((resolve) => (reported = resolve));
    const cp = startCheckpointer(missing, (err) => {
      failures.push(err);
      reported();
    });
    await failed;
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/directory does not exist/);
    await cp.stop(); // resolves: the worker already exited (before the fix this waited forever)
  });

  it('a healthy worker checkpoints and stops on request', async () => {
    const dir = tempDir();
    const db = openDb(dir, { externalCheckpoints: true });
    const failures: Error[] = [];
    const cp = startCheckpointer(path.join(dir, DB_FILE), (err) => failures.push(err), 10);
    await cp.stop();
    await cp.stop(); // twice is fine
    db.close();
    expect(failures).toEqual([]);
  });
});
