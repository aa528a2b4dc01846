import type { Decision } from '../decide/index.js';
import { prepareAll, type Db } from './db.js';
import type { IntentRow } from './intents.js';

/**
 * The open's work list (docs/equities.md): signals held by hold_until_open, and exits held until a session
 * that can sell, that were not decided again yet,
 * their second decisions, and filled extended-hours entries whose protection is not placed yet.
 */

export interface HeldRow {
  /** decisions.id of the first decision. */
  id: number;
  epoch: string;
  seq: number;
  /** deferred:until_open (an entry, bounded by its hold age) or deferred:exit_until_session (no bound). */
  reason: string;
  signal: string;
  received_at: number;
}

export interface RedecisionRow {
  epoch: string;
  seq: number;
  verdict: string;
  reason: string;
  detail: string | null;
  decided_at: number;
  legs: string;
}

/** A protective exit placed at the open is the leg 'protect' of its entry's signal. */
export const PROTECT_LEG = 'protect';

const SQL = {
  // One waiting for approval since the open (approval mode) is the approvals runner's (client/src/approvals.ts).
  held: `SELECT d.id, d.epoch, d.seq, d.reason, d.signal, d.received_at FROM decisions d
    WHERE d.reason IN ('deferred:until_open', 'deferred:exit_until_session')
    AND NOT EXISTS (SELECT 1 FROM redecisions r WHERE r.epoch = d.epoch AND r.seq = d.seq)
    AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.epoch = d.epoch AND a.seq = d.seq) ORDER BY d.id LIMIT ?`,
  insert: `INSERT OR IGNORE INTO redecisions (epoch, seq, verdict, reason, detail, decided_at, legs)
    VALUES (@epoch, @seq, @verdict, @reason, @detail, @decided_at, @legs)`,
  get: 'SELECT * FROM redecisions WHERE epoch = ? AND seq = ?',
  protectDue: `SELECT e.* FROM intents e WHERE e.leg = 'entry' AND e.side = 'buy' AND e.filled > 0
    AND e.status IN ('filled', 'canceled') AND e.order_params LIKE '%"protectAtOpen":true%'
    AND NOT EXISTS (SELECT 1 FROM intents p WHERE p.epoch = e.epoch AND p.seq = e.seq AND p.leg = '${PROTECT_LEG}')
    ORDER BY e.created_at LIMIT ?`,
} as const;

export class HeldStore {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  held(limit: number): HeldRow[] {
    return this.st.held.all(limit) as HeldRow[];
  }

  /** Caller holds the transaction. The new rowid, or undefined when this signal was already decided again
   *  (nothing written). */
  insert(epoch: string, seq: number, d: Decision, at: number): number | undefined {
    const r = this.st.insert.run({
      epoch,
      seq,
      verdict: d.verdict,
      reason: d.reason,
      detail: d.detail ?? null,
      decided_at: at,
      legs: JSON.stringify(d.legs),
    });
    return r.changes === 1 ? Number(r.lastInsertRowid) : undefined;
  }

  get(epoch: string, seq: number): RedecisionRow | undefined {
    return this.st.get.get(epoch, seq) as RedecisionRow | undefined;
  }

  /** Filled (or partly filled, then ended) extended-hours entries with levels and no protection yet. */
  protectDue(limit: number): IntentRow[] {
    return this.st.protectDue.all(limit) as IntentRow[];
  }
}
