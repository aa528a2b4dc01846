import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import {
  approvalStep,
  canAct,
  needsApproval,
  pendingApproval,
  withApprovalWait,
  type Decision,
} from '../src/decide/index.js';

// Approval mode's pure decisions (client/src/decide/approval.ts): which entries wait, what waits, what happens.

const entry = (quote: number): Decision => ({
  verdict: 'trade',
  reason: 'trade:entry',
  detail: `buy 1 ABCD @ ${quote}`,
  legs: [{ leg: 'entry', market: 'ABCD', side: 'buy', type: 'market', amount: 1, refPrice: quote, quote }],
});
const exit: Decision = {
  verdict: 'trade',
  reason: 'trade:exit',
  legs: [{ leg: 'exit', market: 'ABCD', side: 'sell', type: 'market', amount: 1, refPrice: 5, quote: 5 }],
};
const approval = (a: object) => parseConfig({ approval: a }).approval;

describe('approval decision (pure)', () => {
  it('off by default; required holds every entry, never an exit or a skip', () => {
    expect(needsApproval(parseConfig({}).approval, { catalyst: 'fda' }, entry(50))).toBe(false);
    const req = approval({ mode: 'required' });
    expect(needsApproval(req, { catalyst: 'fda' }, entry(50))).toBe(true);
    expect(needsApproval(req, { catalyst: 'fda' }, exit)).toBe(false);
    expect(
      needsApproval(req, { catalyst: 'fda' }, { verdict: 'skip', reason: 'skipped:confidence', legs: [] }),
    ).toBe(false);
  });

  it('above_notional and catalysts narrow it; above_notional needs an amount', () => {
    const big = approval({ mode: 'above_notional', above_notional: 100 });
    expect(needsApproval(big, { catalyst: 'fda' }, entry(100))).toBe(false);
    expect(needsApproval(big, { catalyst: 'fda' }, entry(100.01))).toBe(true);
    const fda = approval({ mode: 'required', catalysts: ['fda'] });
    expect(needsApproval(fda, { catalyst: 'fda' }, entry(5))).toBe(true);
    expect(needsApproval(fda, { catalyst: 'earnings' }, entry(5))).toBe(false);
    expect(() => approval({ mode: 'above_notional' })).toThrow(/above_notional/);
  });

  it('a pending entry journals no legs, the trade text and its deadline', () => {
    const cfg = approval({ mode: 'required', timeout_ms: 60_000 });
    const p = pendingApproval(cfg, entry(50), 1_000_000);
    expect(p.expiresAt).toBe(1_060_000);
    expect(p.decision).toMatchObject({ verdict: 'skip', reason: 'deferred:pending_approval', legs: [] });
    expect(p.decision.detail).toMatch(/^buy 1 ABCD @ 50; approve by /);
  });

  it('steps: wait, decide when approved, skip when rejected or expired', () => {
    const base = { decided_at: 1000, expires_at: 5000, acted_at: null };
    expect(approvalStep({ ...base, state: 'pending' }, 4999)).toEqual({ kind: 'wait' });
    expect(approvalStep({ ...base, state: 'pending' }, 5000)).toMatchObject({
      kind: 'skip',
      reason: 'skipped:approval_expired',
    });
    // Approved before the deadline: decided again even when the runner looks after it (a restart).
    expect(approvalStep({ ...base, state: 'approved', acted_at: 3000 }, 9000)).toEqual({
      kind: 'decide',
      waitedMs: 2000,
    });
    expect(approvalStep({ ...base, state: 'rejected', acted_at: 3000 }, 3001)).toMatchObject({
      kind: 'skip',
      reason: 'skipped:approval_rejected',
    });
    expect(canAct({ ...base, state: 'pending' }, 4999)).toBe(true);
    expect(canAct({ ...base, state: 'pending' }, 5000)).toBe(false);
    expect(canAct({ ...base, state: 'approved', acted_at: 2000 }, 3000)).toBe(false);
  });

  it("an approved entry's age limit grows by its wait only", () => {
    const cfg = parseConfig({ filters: { max_signal_age_ms: 60_000 } });
    expect(withApprovalWait(cfg, 30_000).filters.max_signal_age_ms).toBe(90_000);
    expect(withApprovalWait(cfg, undefined)).toBe(cfg);
    expect(cfg.filters.max_signal_age_ms).toBe(60_000);
  });
});
