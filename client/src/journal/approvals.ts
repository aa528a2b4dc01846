import type { ApprovalState } from '../decide/index.js';
import { prepareAll, type Db } from './db.js';

/**
 * Approval mode's journal (docs/client.md, "Approval"): one row per entry waiting for the friend, written in the
 * transaction of its `deferred:pending_approval` decision; the friend's answer (approve/reject, from the
 * dashboard or an ntfy action) moves it out of `pending` once, before its deadline. The entry's second decision
 * lives in `redecisions` like a held signal's, so "decided again" is one fact whoever asks. One-time ntfy tokens
 * are kept in `approval_tokens`: a token is accepted once, even across restarts.
 */

export interface ApprovalRow {
  epoch: string;
  seq: number;
  decision_id: number;
  decided_at: number;
  expires_at: number;
  state: ApprovalState;
  acted_at: number | null;
  via: string | null;
}

/** An approval not decided again yet, with what the page and the runner need of its signal. */
export interface OpenApprovalRow extends ApprovalRow {
  /** The first decision's reason: deferred:pending_approval, or deferred:until_open for one held until the open. */
  first_reason: string;
  symbol: string;
  detail: string | null;
  signal: string;
}

const SQL = {
  insert: `INSERT INTO approvals (epoch, seq, decision_id, decided_at, expires_at, state)
    VALUES (?, ?, ?, ?, ?, 'pending')`,
  open: `SELECT a.*, d.reason AS first_reason, d.symbol, d.detail, d.signal FROM approvals a JOIN decisions d ON d.id = a.decision_id
    WHERE NOT EXISTS (SELECT 1 FROM redecisions r WHERE r.epoch = a.epoch AND r.seq = a.seq)
    ORDER BY a.decision_id LIMIT ?`,
  get: 'SELECT * FROM approvals WHERE epoch = ? AND seq = ?',
  act: `UPDATE approvals SET state = ?, acted_at = ?, via = ?
    WHERE epoch = ? AND seq = ? AND state = 'pending' AND expires_at > ?
    AND NOT EXISTS (SELECT 1 FROM redecisions r WHERE r.epoch = approvals.epoch AND r.seq = approvals.seq)`,
  useToken: 'INSERT OR IGNORE INTO approval_tokens (token, epoch, seq, at) VALUES (?, ?, ?, ?)',
} as const;

export class ApprovalStore {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  /** Caller holds the decision's transaction. */
  insert(epoch: string, seq: number, decisionId: number, decidedAt: number, expiresAt: number): void {
    this.st.insert.run(epoch, seq, decisionId, decidedAt, expiresAt);
  }

  open(limit: number): OpenApprovalRow[] {
    return this.st.open.all(limit) as OpenApprovalRow[];
  }

  get(epoch: string, seq: number): ApprovalRow | undefined {
    return this.st.get.get(epoch, seq) as ApprovalRow | undefined;
  }

  /** Caller holds the transaction. True when this answer moved a pending, unexpired approval (only the first does). */
  act(epoch: string, seq: number, state: 'approved' | 'rejected', via: string, now: number): boolean {
    return this.st.act.run(state, now, via, epoch, seq, now).changes === 1;
  }

  /** Caller holds the transaction. False when this token was used before. */
  useToken(token: string, epoch: string, seq: number, now: number): boolean {
    return this.st.useToken.run(token, epoch, seq, now).changes === 1;
  }
}
