import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Context } from '../context.js';
import { EXIT, exitCodeOf } from '../errors.js';
import { Journal } from '../journal/index.js';
import { JournalLockedError, lockJournal, type JournalLock } from '../journal/lock.js';
import { renderRecovery, type Recoverable } from '../recovery.js';
import { haltMessage } from './messages.js';
import { NOTIFY_STATE_META, Notifier } from './index.js';

/**
 * Before `run` exits 3, 4 or 5: tell every target that wants trading_stopped (waiting at most
 * notify_options.halt_wait_ms) and write the halt into the journal, so `status` shows it with its recovery
 * command. Under systemd that is the only way a friend learns of it: the unit does not restart on these codes.
 * A refusal because another `run` holds the journal is not a halt (that run trades on): nothing is told or written.
 * Never throws: the halt's own error is what the CLI reports.
 */

import { LAST_HALT_META } from './status.js';

export { LAST_HALT_META };

export interface HaltRecord {
  at: string;
  exit: number;
  message: string;
  recovery?: string | undefined;
}

export function isHaltExit(code: number): boolean {
  return code === EXIT.stopped || code === EXIT.refused || code === EXIT.keyChanged;
}

export async function reportHalt(ctx: Context, e: unknown, notifier?: Notifier): Promise<void> {
  const exit = exitCodeOf(e);
  if (!isHaltExit(exit)) return;
  const { config, log } = ctx;
  let lock: JournalLock | undefined;
  const haveJournal = existsSync(ctx.journalPath);
  try {
    if (haveJournal) lock = lockJournal(ctx.journalPath);
  } catch (err) {
    if (err instanceof JournalLockedError) return;
  }
  const configArg = ctx.configArg ?? ctx.configPath;
  const recovery = (e as Recoverable).recovery;
  const record: HaltRecord = {
    at: new Date().toISOString(),
    exit,
    message: (e as Error).message ?? String(e),
    recovery: recovery ? renderRecovery(configArg, recovery).slice(2) : undefined,
  };
  const own = !notifier;
  const n =
    notifier ??
    new Notifier(config.notify, {
      env: process.env,
      log,
      queueMax: config.notify_options.queue_max,
    });
  try {
    n.emit(
      haltMessage(Date.parse(record.at), {
        exitCode: exit,
        message: record.message,
        recovery: record.recovery,
        host: hostname(),
      }),
    );
    const delivered = await n.flush(config.notify_options.halt_wait_ms);
    if (!delivered && n.targetCount)
      log.warn({ wait_ms: config.notify_options.halt_wait_ms }, 'halt notification not delivered in time');
    if (lock) {
      const j = Journal.open(ctx.journalPath);
      try {
        j.setMeta(LAST_HALT_META, JSON.stringify(record));
        if (n.targetCount) j.setMeta(NOTIFY_STATE_META, JSON.stringify(n.states()));
      } finally {
        j.close();
      }
    }
  } catch (err) {
    log.error({ err: n.redact((err as Error).message) }, 'cannot record the halt');
  } finally {
    if (own) n.close();
    lock?.release();
  }
}
