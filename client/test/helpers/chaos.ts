import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { onTestFinished } from 'vitest';
import { startClient, type ClientProc } from './client-process.js';

/**
 * Small building blocks of the client chaos tests (client/test/chaos): temp dirs and child processes that
 * clean up after the running test, a read-only look into a live journal, and bounded polling.
 */

/** A temp dir removed when the running test finishes. */
export function chaosDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** startClient, plus a SIGKILL in the running test's teardown if it is still alive. */
export function spawnClient(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): ClientProc {
  const c = startClient(args, env, cwd);
  onTestFinished(async () => {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.child.kill('SIGKILL');
      await c.exited;
    }
  });
  return c;
}

export interface JournalPeek {
  cursorSeq: number;
  pending: number;
  /** clientOrderIds of the pending intents. */
  pendingIds: string[];
  /** Filled entries with a stop price but no protective intent yet. */
  unprotected: number;
}

/**
 * Read a journal that a running (or just killed) client may be writing (WAL: readers never block the writer).
 * Opened read-only, so the test never creates, alters or checkpoints it: a crashed journal stays exactly as the
 * crash left it for the restart to recover. undefined while the file or its tables do not exist.
 */
export function peekJournal(path: string): JournalPeek | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'cursor_seq'").get() as
      { value: string } | undefined;
    const pendingIds = (
      db.prepare("SELECT client_order_id AS id FROM intents WHERE status = 'pending'").all() as {
        id: string;
      }[]
    ).map((r) => r.id);
    const unprotected = (
      db
        .prepare(
          `SELECT COUNT(*) AS n FROM intents e WHERE e.leg = 'entry' AND e.status = 'filled' AND (e.stop_loss IS NOT NULL OR e.take_profit IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM intents p WHERE p.epoch = e.epoch AND p.seq = e.seq AND p.leg IN ('sl', 'tp'))`,
        )
        .get() as { n: number }
    ).n;
    return { cursorSeq: Number(meta?.value ?? 0), pending: pendingIds.length, pendingIds, unprotected };
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/** Poll `cond` every `everyMs` until it returns a truthy value; bounded by `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  cond: () => T | Promise<T>,
  o: { timeoutMs?: number; everyMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  let last: T | undefined;
  for (;;) {
    last = await cond();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 50));
  }
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
