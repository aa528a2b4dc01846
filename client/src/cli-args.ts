import { InvalidArgumentError } from 'commander';
import type { Verdict } from './decide/types.js';

/**
 * Option values checked where commander reads them: a bad one is one line and exit 2 (usage) before any file
 * is opened, instead of `datatype mismatch` from SQLite or `after_seq=NaN` on the wire. Light on purpose: the
 * CLI imports this for every command, --help included.
 */

/** A whole number in [min, max]: digits only (no 1e3, no 0x10, no 12abc). */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`,
      );
    return n;
  };
}

/** "30s", "30m", "2h", "1d" or an ISO date -> ms since epoch. */
export function parseSince(s: string, now = Date.now()): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(s.trim());
  if (m) return now - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new InvalidArgumentError('expected a duration (30m, 2h, 1d) or an ISO date');
  return t;
}

/** For commander: checks the value now, keeps the string (the command resolves it against its own clock). */
export function sinceArg(v: string): string {
  parseSince(v);
  return v;
}

/** `--verdict` takes the words `run` prints (TRADED, skipped, REJECTED) as well as the journal's own. */
const VERDICT_WORDS: Record<string, Verdict> = {
  traded: 'trade',
  trade: 'trade',
  skipped: 'skip',
  skip: 'skip',
  rejected: 'reject',
  reject: 'reject',
};

export function parseVerdict(word: string): Verdict {
  const v = VERDICT_WORDS[word.trim().toLowerCase()];
  if (v) return v;
  // An unknown word would silently match nothing and print "(no decisions)": say so instead.
  throw new InvalidArgumentError(`unknown verdict "${word}"; use one of: traded, skipped, rejected`);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
