/** Bad input on the command line (an option's value, a missing journal for a read-only command): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
