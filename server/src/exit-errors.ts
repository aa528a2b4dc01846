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

/** 2: a usage or config error the operator fixes by changing what was asked; 1: anything else. */
export function exitCodeOf(e: unknown): number {
  return e instanceof UsageError || e instanceof ConfigError ? 2 : 1;
}
