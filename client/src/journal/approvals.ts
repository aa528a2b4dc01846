import type { ApprovalState } from '../decide/index.js';
import type { ChangeLog } from './changes.js';
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

  constructor(
    private readonly db: Db,
    private readonly changeLog: ChangeLog,
    private readonly symbolOf: (epoch: string, seq: number) => string | undefined,
  ) {
    this.st = prepareAll(db, SQL);
  }

  /** Caller holds the decision's transaction (Journal.recordDecision). */
  insert(epoch: string, seq: number, decisionId: number, decidedAt: number, expiresAt: number): void {
    this.st.insert.run(epoch, seq, decisionId, decidedAt, expiresAt);
  }

  /** Entries not decided again yet (pending, or answered and not placed yet), oldest first. */
  open(limit = 100): OpenApprovalRow[] {
    return this.st.open.all(limit) as OpenApprovalRow[];
  }

  get(epoch: string, seq: number): ApprovalRow | undefined {
    return this.st.get.get(epoch, seq) as ApprovalRow | undefined;
  }

  /**
   * The friend's answer to a pending entry, journaled once: 'done' when it moved the entry out of pending (the
   * run places or skips it next), 'too_late' when it was answered, expired or decided already, 'replayed' when
   * `token` (an ntfy action's hash) was used before. The token and the answer commit together.
   */
  answer(
    epoch: string,
    seq: number,
    answer: 'approved' | 'rejected',
    via: string,
    now: number,
    token?: string,
  ): 'done' | 'too_late' | 'replayed' {
    return this.db.transaction(() => {
      if (token !== undefined && this.st.useToken.run(token, epoch, seq, now).changes !== 1)
        return 'replayed' as const;
      if (this.st.act.run(answer, now, via, epoch, seq, now).changes !== 1) return 'too_late' as const;
      const refs = { symbol: this.symbolOf(epoch, seq), epoch, seq };
      this.changeLog.append('approval', now, refs, { state: answer, via });
      return 'done' as const;
    })();
  }

  /**
   * A held signal that trades at the open but needs approval: it waits (its approvals row) instead of being
   * decided again; the `approval` change (state pending) tells notifications. False when it waits already.
   */
  holdAtOpen(h: {
    epoch: string;
    seq: number;
    decisionId: number;
    at: number;
    expiresAt: number;
    detail: string;
  }): boolean {
    return this.db.transaction(() => {
      if (this.get(h.epoch, h.seq)) return false;
      this.insert(h.epoch, h.seq, h.decisionId, h.at, h.expiresAt);
      const refs = { symbol: this.symbolOf(h.epoch, h.seq), epoch: h.epoch, seq: h.seq };
      this.changeLog.append('approval', h.at, refs, {
        state: 'pending',
        row_id: h.decisionId,
        reason: 'deferred:pending_approval',
        detail: h.detail,
      });
      return true;
    })();
  }
}
