import { describe, expect, it } from 'vitest';
import { UNSAFE_TEXT_RE, type Signal } from '@catalyst-signal/shared';
import { formatOutcome } from '../src/report.js';
import { baseSignal } from './helpers/signals.js';

/**
 * What reaches a terminal from a signal, a server or a broker goes through the one sanitiser
 * (shared terminalText): an ESC sequence in a stored signal or an order's error can neither clear nor recolour
 * the friend's screen, nor an RTL override reorder the line.
 */
describe('terminal output is inert', () => {
  it('a run line with escape and bidi characters in its text shows them spelled out', () => {
    const signal = baseSignal(7, { symbol: 'MRNA' }) as Signal;
    const line = formatOutcome(
      signal,
      {
        decision: {
          verdict: 'skip',
          reason: 'skipped:stale',
          detail: '\u001b[2J\u001b]0;pwned\u0007 \u202eevil',
          legs: [],
        },
        intents: [],
      },
      true,
    );
    expect(UNSAFE_TEXT_RE.test(line)).toBe(false);
    expect(line).toContain('\\u001b[2J\\u001b]0;pwned\\u0007 \\u202eevil');
  });
});
