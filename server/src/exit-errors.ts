/**
 * The errors that end a `catalyst-server` command with their own exit code, and the one place that maps them
 * (changesets' ExitError). Nothing here imports anything, so the CLI maps an error by instanceof without
 * loading the module that threw it (`--help` loads commander and nothing else).
 */

/** Invalid configuration, with every problem found. Exit code 2 at the CLI. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(problems.length ? `${message}:\n  ${problems.join('\n  ')}` : message);
  }
}

/** The operator asked for something that cannot be done as asked. Exit code 2 at the CLI. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command could not get an answer from a server (refused, TLS, timeout). Exit code 3 at the CLI. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
}

/**
 * 2: a usage or config error the operator fixes by changing what was asked; 3: a server could not be reached;
 * 1: anything else.
 */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof ConfigError) return 2;
  if (e instanceof ServerUnreachableError) return 3;
  return 1;
}
