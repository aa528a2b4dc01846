import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { baseSignal } from './helpers/signals.js';
import type { Signal } from '@catalyst-signal/shared';

// Fill accounting: the exchange may report the same cumulative fill any number of times (reconcile, restart,
// lookups after timeouts); the position must reflect each unit of fill exactly once.

describe('journal fill deltas (property)', () => {
  it('repeated and growing cumulative reports count each fill once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-jp-'));
    let n = 0;
    try {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 }),
          fc.array(fc.nat({ max: 11 }), { maxLength: 8 }),
          (steps, repeats) => {
            const j = Journal.open(join(dir, `j${n++}.sqlite`));
            try {
              // cumulative fills (monotone), with some reports repeated or arriving stale
              const cum = steps.map((_, k) => steps.slice(0, k + 1).reduce((a, b) => a + b, 0) / 1000);
              const reports = [...cum];
              for (const r of repeats)
                reports.splice(Math.min(r, reports.length), 0, cum[Math.min(r, cum.length - 1)]!);
              const leg = {
                leg: 'entry' as const,
                market: 'BTC/USDT',
                side: 'buy' as const,
                type: 'limit' as const,
                amount: 1e9,
                refPrice: 10,
                quote: 0,
              };
              j.recordDecision({
                signal: baseSignal(1) as Signal,
                receivedAt: 0,
                decidedAt: 0,
                decision: { verdict: 'trade', reason: 'trade:entry', legs: [leg] },
                intents: [{ clientOrderId: 'c1', leg }],
              });
              for (const f of reports)
                j.updateIntent('c1', { status: 'open', filled: f, avgPrice: 10, feeQuote: f * 0.01 }, 0);
              const final = cum[cum.length - 1]!;
              const [p] = j.positions();
              if (final === 0) {
                expect(p).toBeUndefined();
                return;
              }
              expect(p!.amount).toBeCloseTo(final, 9);
              expect(p!.cost).toBeCloseTo(final * 10 + final * 0.01, 6);
            } finally {
              j.close();
            }
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
