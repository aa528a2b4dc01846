import { describe, expect, it } from 'vitest';
import {
  contend,
  leaseTermProblem,
  mayAct,
  recordFor,
  renewEveryMs,
  takeOverAt,
} from '../src/jetstream/lease-term.js';

const t = { termMs: 3_000, skewMs: 500 };

describe('lease term arithmetic', () => {
  it('creates an absent or deleted lease at once', () => {
    expect(contend({ kind: 'absent' }, 1_000, t)).toEqual({ kind: 'create' });
    expect(contend({ kind: 'absent', revision: 7 }, 1_000, t)).toEqual({ kind: 'create' });
  });

  it('waits for the holder until the end of its term plus the skew margin, then takes over on the revision read', () => {
    const held = { kind: 'held' as const, record: { node: 'a', until_ms: 10_000 }, revision: 4 };
    expect(contend(held, 9_000, t)).toEqual({ kind: 'wait', ms: 1_500, holder: 'a' });
    // Past the holder's own end but within the skew margin: the holder's clock may be behind ours.
    expect(contend(held, 10_499, t)).toEqual({ kind: 'wait', ms: 1, holder: 'a' });
    expect(contend(held, 10_500, t)).toEqual({ kind: 'take_over', revision: 4 });
    expect(takeOverAt(held.record, t)).toBe(10_500);
  });

  it('takes over a value that is not a lease record (nobody can claim it)', () => {
    expect(contend({ kind: 'malformed', revision: 9 }, 0, t)).toEqual({ kind: 'take_over', revision: 9 });
  });

  it('counts the term from before the write was sent, and stops acting at its end', () => {
    const r = recordFor('b', 20_000, t);
    expect(r).toEqual({ node: 'b', until_ms: 23_000 });
    expect(mayAct(r.until_ms, 22_999)).toBe(true);
    expect(mayAct(r.until_ms, 23_000)).toBe(false);
  });

  it('renews every third of the term, so two slow renewals still leave time', () => {
    expect(renewEveryMs(t)).toBe(1_000);
    expect(renewEveryMs({ termMs: 31, skewMs: 0 })).toBe(10);
  });

  it('a holder that stopped at its term end and a successor that waited the margin never overlap under skew up to the margin', () => {
    for (const skew of [-500, -200, 0, 200, 500]) {
      // The successor's clock reads holder clock + skew; it takes over at takeOverAt by its own clock.
      const rec = recordFor('a', 0, t);
      const successorStartsAtHolderTime = takeOverAt(rec, t) - skew;
      expect(mayAct(rec.until_ms, successorStartsAtHolderTime)).toBe(false);
    }
  });

  it('refuses a term that cannot work with a one-line reason', () => {
    expect(leaseTermProblem(t)).toBeUndefined();
    expect(leaseTermProblem({ termMs: 10, skewMs: 0 })).toMatch(/at least 30 ms/);
    expect(leaseTermProblem({ termMs: 1_000, skewMs: -1 })).toMatch(/non-negative/);
  });
});
