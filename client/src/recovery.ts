/**
 * How a person starts trading again after the client stopped it (exit 3, 4, 5): the exact commands, with the
 * config path they gave, so a halt message can be copied from a terminal or a systemd journal as it is.
 */

/** The installed bin, run from the install directory (works for install A and B alike). */
export const CLIENT_BIN = 'npx --no -- catalyst-client';

const SAFE = /^[\w@%+=:,./-]+$/;
/** POSIX single quotes when the path has anything a shell would split or expand. */
export function shellQuote(s: string): string {
  return SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `npx --no -- catalyst-client --config <path> <args>`. */
export function clientCommand(configArg: string, args: string): string {
  return `${CLIENT_BIN} --config ${shellQuote(configArg)} ${args}`;
}

/** What to do, then the client commands to run in order (their arguments after `--config <path>`). */
export interface Recovery {
  first?: string | undefined;
  commands: string[];
}

/** Errors that stop trading carry their recovery; the CLI renders it with the config path in use. */
export interface Recoverable {
  recovery?: Recovery | undefined;
}

/** "; after X, run: `cmd1`, then `cmd2`" */
export function renderRecovery(configArg: string, r: Recovery): string {
  const cmds = r.commands.map((c) => `\`${clientCommand(configArg, c)}\``).join(', then ');
  return `; ${r.first ? `${r.first}, then ` : ''}run: ${cmds}`;
}

/** An error's message with its recovery, if it has one. */
export function messageWithRecovery(e: unknown, configArg: string): string {
  const err = e as Error & Recoverable;
  const msg = err.message ?? String(e);
  return err.recovery ? msg + renderRecovery(configArg, err.recovery) : msg;
}

/** After an epoch halt: accept the new epoch (trading stays paused), then resume trading. */
export const ACCEPT_EPOCH: Recovery = {
  first: 'after the server operator confirms the server history was replaced',
  commands: ['resume --accept-new-epoch', 'resume'],
};
