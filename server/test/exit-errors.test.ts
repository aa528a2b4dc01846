import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../src/errors.js';
import { exitCodeOf } from '../src/exit-errors.js';

// catalyst-server maps an error to its exit code by class, in one place; a look-alike name is not the class.
describe('server exit codes', () => {
  it('2 for usage and config errors, 1 for anything else', () => {
    expect(exitCodeOf(new UsageError('ambiguous'))).toBe(2);
    expect(exitCodeOf(new ConfigError('invalid configuration', ['port: too big']))).toBe(2);
    expect(exitCodeOf(new Error('disk full'))).toBe(1);
    expect(exitCodeOf(Object.assign(new Error('x'), { name: 'UsageError' }))).toBe(1);
  });
});
