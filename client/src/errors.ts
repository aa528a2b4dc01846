/**
 * The errors that end a command with their own exit code, and the one table that maps them (changesets'
 * ExitError, colyseus' ServerError). Nothing here imports more than commander (which the CLI has loaded anyway), so
 * the CLI can map an error by instanceof without loading the module that threw it (--help never pays for ccxt or
 * SQLite). The codes are documented in docs/client.md ("Exit codes"); a code's meaning never changes. A stop (3, 4,
 * 5) carries its Recovery: the commands that start trading again (recovery.ts renders them).
 */

import { InvalidArgumentError } from 'commander';
import type { Recoverable, Recovery } from './recovery.js';

export const EXIT = {
  /** Done. */
  ok: 0,
  /** Any other error, or a failed check. */
  error: 1,
  /** Invalid config (schema or YAML syntax), or bad usage (an option's value, a missing journal). */
  config: 2,
  /** Trading stopped by a fatal stream condition (epoch change, revoked key, no valid signature). */
  stopped: 3,
  /** Refused to start (live without mode live, missing keys, blocked broker account, unsafe dashboard). */
  refused: 4,
  /** The server signing key changed (see `pin`). */
  keyChanged: 5,
  /** The journal was written by a newer client: refused, never downgraded. */
  journalTooNew: 6,
  /** The server's transparency log proved it rewrote or forked its history; an evidence file was written. */
  logMisbehaved: 7,
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'config_invalid';
  constructor(readonly issues: { path: string; message: string }[]) {
    super(
      'invalid configuration:\n' + issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'),
    );
  }
}

/** Bad input on the command line (an option's value, a missing journal for a read-only command). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An error that stops trading and carries the commands that start it again (rendered by recovery.ts). */
abstract class StopError extends Error implements Recoverable {
  constructor(
    message: string,
    readonly recovery?: Recovery,
  ) {
    super(message);
  }
}

/** `run` will not start as asked (live without mode live, missing keys, a blocked account, a halt). */
export class RunRefused extends StopError {
  override name = 'RunRefused';
  readonly code = 'refused';
}

/** `run` stopped trading on a fatal stream condition; the message says how to start again. */
export class TradingStopped extends StopError {
  override name = 'TradingStopped';
}

/**
 * `run` halted because the transparency log showed the server rewrote or forked its history (an inconsistent
 * checkpoint, or a signal its own signed tree does not contain). The journal keeps the checkpoint it verified,
 * so every later run halts the same way until the server serves a history consistent with it.
 */
export class LogHalted extends TradingStopped {
  override name = 'LogHalted';
  readonly code = 'log_misbehaved';
  constructor(
    message: string,
    readonly evidencePath: string | undefined,
    recovery?: Recovery,
  ) {
    super(message, recovery);
  }
}

/** The dashboard will not start as asked (bound beyond loopback without a password...). */
export class DashboardRefused extends Error {
  override name = 'DashboardRefused';
  readonly code = 'refused';
}

/** The server's signing key is not the pinned one: signals would be rejected. */
export class KeyPinError extends StopError {
  override name = 'KeyPinError';
  readonly code = 'key_changed';
}

/** The journal's schema is newer than this client knows: opening it could damage it. */
export class JournalVersionError extends Error {
  override name = 'JournalVersionError';
  readonly code = 'journal_too_new';
}

/** The exit code for an error that ended a command: by class, in this one place. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof ConfigError || e instanceof UsageError || e instanceof InvalidArgumentError)
    return EXIT.config;
  if (e instanceof LogHalted) return EXIT.logMisbehaved;
  if (e instanceof TradingStopped) return EXIT.stopped;
  if (e instanceof RunRefused || e instanceof DashboardRefused) return EXIT.refused;
  if (e instanceof KeyPinError) return EXIT.keyChanged;
  if (e instanceof JournalVersionError) return EXIT.journalTooNew;
  return EXIT.error;
}
