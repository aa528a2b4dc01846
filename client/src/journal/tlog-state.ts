import { prepareAll, type Db } from './db.js';

/** The latest verified transparency-log checkpoint per origin (docs/transparency-log.md, client side). */
export interface VerifiedCheckpointRow {
  origin: string;
  size: number;
  /** The signed note exactly as served: evidence if a later one is inconsistent with it. */
  note: string;
  verified_at: number;
}

const SQL = {
  get: 'SELECT origin, size, note, verified_at FROM tlog_checkpoints WHERE origin = ?',
  // Never moves back: a smaller size is a stale gateway's, not a new trust anchor.
  put: `INSERT INTO tlog_checkpoints (origin, size, note, verified_at) VALUES (?, ?, ?, ?)
    ON CONFLICT(origin) DO UPDATE SET size = excluded.size, note = excluded.note, verified_at = excluded.verified_at
    WHERE excluded.size >= tlog_checkpoints.size`,
} as const;

export class TlogState {
  private readonly st;

  constructor(db: Db) {
    this.st = prepareAll(db, SQL);
  }

  get(origin: string): VerifiedCheckpointRow | undefined {
    return this.st.get.get(origin) as VerifiedCheckpointRow | undefined;
  }

  put(row: VerifiedCheckpointRow): void {
    this.st.put.run(row.origin, row.size, row.note, row.verified_at);
  }
}
