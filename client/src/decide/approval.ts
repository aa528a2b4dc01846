import type { Signal } from '@catalyst-signal/shared';
import type { Config } from '../config.js';
import type { ReasonCode } from './reasons.js';
import { formatDuration, nyTimeText } from './time-text.js';
import type { Decision } from './types.js';

/**
 * Approval mode, pure (time and state are arguments): which entries wait for the friend, what is journaled while
 * they wait, and what happens to a waiting entry at `now`. The entry itself is decided twice by the venue's same
 * pure decision: once when the signal arrives (it must pass every filter and limit to be worth asking about) and
 * again when it is approved (prices, exposure, kill switch and session may have changed while the friend looked).
 */

export type ApprovalConfig = Config['approval'];

/** True when this decision must wait for approval: an entry, on a listed catalyst, above the amount. */
export function needsApproval(
  cfg: ApprovalConfig,
  signal: Pick<Signal, 'catalyst'>,
  decision: Decision,
): boolean {
  if (cfg.mode === 'off' || decision.verdict !== 'trade') return false;
  // Exits are never held: waiting to sell only ever adds risk.
  const entries = decision.legs.filter((l) => l.leg === 'entry');
  if (!entries.length) return false;
  if (cfg.catalysts && !cfg.catalysts.includes(signal.catalyst)) return false;
  if (cfg.mode === 'above_notional')
    return entries.reduce((sum, l) => sum + l.quote, 0) > (cfg.above_notional ?? Infinity);
  return true;
}

/** What is journaled instead of the trade: no legs (nothing is placed), the trade's text and the deadline. */
export function pendingApproval(
  cfg: ApprovalConfig,
  decision: Decision,
  now: number,
): { decision: Decision; expiresAt: number } {
  const expiresAt = now + cfg.timeout_ms;
  return {
    expiresAt,
    decision: {
      verdict: 'skip',
      reason: 'deferred:pending_approval',
      detail: `${decision.detail ?? decision.reason}; approve by ${nyTimeText(expiresAt)}`,
      legs: [],
    },
  };
}

export type ApprovalState = 'pending' | 'approved' | 'rejected';

export interface ApprovalFacts {
  state: ApprovalState;
  expires_at: number;
  acted_at: number | null;
}

export type ApprovalStep =
  | { kind: 'wait' }
  /** Approved: decide again now, through every filter and limit. */
  | { kind: 'decide'; waitedMs: number }
  | { kind: 'skip'; reason: ReasonCode; detail: string };

/** What to do with one approval at `now`. */
export function approvalStep(a: ApprovalFacts & { decided_at: number }, now: number): ApprovalStep {
  if (a.state === 'approved')
    return { kind: 'decide', waitedMs: Math.max(0, (a.acted_at ?? now) - a.decided_at) };
  if (a.state === 'rejected')
    return {
      kind: 'skip',
      reason: 'skipped:approval_rejected',
      detail: `rejected at ${nyTimeText(a.acted_at ?? now)}`,
    };
  if (now >= a.expires_at)
    return {
      kind: 'skip',
      reason: 'skipped:approval_expired',
      detail: `no approval within ${formatDuration(a.expires_at - a.decided_at)} (by ${nyTimeText(a.expires_at)})`,
    };
  return { kind: 'wait' };
}

/** An approve or reject counts only while the entry still waits and before its deadline. */
export function canAct(a: ApprovalFacts, now: number): boolean {
  return a.state === 'pending' && now < a.expires_at;
}

/**
 * The filters to decide an approved entry again with: its age limit grows by the time it waited for the friend,
 * else every approval slower than filters.max_signal_age_ms would end as skipped:stale. Everything else
 * (prices, drift, exposure, kill switch, session) is checked as it is now.
 */
export function withApprovalWait<C extends Pick<Config, 'filters'>>(cfg: C, waitedMs: number | undefined): C {
  if (!waitedMs) return cfg;
  return { ...cfg, filters: { ...cfg.filters, max_signal_age_ms: cfg.filters.max_signal_age_ms + waitedMs } };
}
