import type { Signal } from '@catalyst-signal/shared';
import type { Decision, EntryBlock } from '../decide/index.js';
import { prepareAll, type Db } from './db.js';

/** The append-only decision log (what was decided about each signal, and why), gaps accepted, symbol blocks. */

export interface DecisionRow {
  id: number;
  epoch: string;
  seq: number;
  symbol: string;
  verdict: string;
  reason: string;
  detail: string | null;
  received_at: number;
  decided_at: number;
  legs: string;
  signal: string;
  /** The US market session the signal met (us_equity); null on crypto and before the column existed. */
  session: string | null;
}

export interface GapRow {
  epoch: string;
  from_seq: number;
  to_seq: number;
  reason: string;
  at: number;
}

const SQL = {
  insertDecision: `INSERT INTO decisions (epoch, seq, symbol, verdict, reason, detail, received_at, decided_at, legs, signal, session)
    VALUES (@epoch, @seq, @symbol, @verdict, @reason, @detail, @received_at, @decided_at, @legs, @signal, @session)`,
  hasDecision: 'SELECT 1 FROM decisions WHERE epoch = ? AND seq = ?',
  symbolOf: 'SELECT symbol FROM decisions WHERE epoch = ? AND seq = ?',
  reasonCounts:
    'SELECT verdict, reason, COUNT(*) AS n FROM decisions GROUP BY verdict, reason ORDER BY n DESC',
  insertGap: 'INSERT INTO gaps (epoch, from_seq, to_seq, reason, at) VALUES (?, ?, ?, ?, ?)',
  gaps: 'SELECT * FROM gaps ORDER BY id DESC LIMIT ?',
  // The row names the signal whose block ends last, so a skip names what actually blocks it.
  setAvoid: `INSERT INTO avoids (symbol, until, epoch, seq) VALUES (?, ?, ?, ?)
    ON CONFLICT(symbol) DO UPDATE SET
      epoch = CASE WHEN excluded.until >= until THEN excluded.epoch ELSE epoch END,
      seq = CASE WHEN excluded.until >= until THEN excluded.seq ELSE seq END,
      until = MAX(until, excluded.until)`,
  activeAvoids: `SELECT a.symbol, a.until, a.seq, json_extract(d.signal, '$.action') AS action,
      json_extract(d.signal, '$.catalyst') AS catalyst
    FROM avoids a LEFT JOIN decisions d ON d.epoch = a.epoch AND d.seq = a.seq WHERE a.until > ?`,
} as const;

export interface DecisionFilter {
  verdict?: string | undefined;
  reason?: string | undefined;
  symbol?: string | undefined;
  sinceMs?: number | undefined;
  limit?: number | undefined;
}

export class DecisionLog {
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = prepareAll(db, SQL);
  }

  /** Caller holds the transaction (decision, intents and cursor commit together). Returns the row's id. */
  insert(signal: Signal, decision: Decision, receivedAt: number, decidedAt: number): number {
    const r = this.st.insertDecision.run({
      epoch: signal.epoch,
      seq: signal.seq,
      symbol: signal.symbol,
      verdict: decision.verdict,
      reason: decision.reason,
      detail: decision.detail ?? null,
      received_at: receivedAt,
      decided_at: decidedAt,
      legs: JSON.stringify(decision.legs),
      signal: JSON.stringify(signal),
      session: decision.session ?? null,
    });
    return Number(r.lastInsertRowid);
  }

  symbolOf(epoch: string, seq: number): string | undefined {
    return (this.st.symbolOf.get(epoch, seq) as { symbol: string } | undefined)?.symbol;
  }

  has(epoch: string, seq: number): boolean {
    return this.st.hasDecision.get(epoch, seq) !== undefined;
  }

  insertGap(epoch: string, fromSeq: number, toSeq: number, reason: string, now: number): void {
    this.st.insertGap.run(epoch, fromSeq, toSeq, reason, now);
  }

  gaps(limit: number): GapRow[] {
    return this.st.gaps.all(limit) as GapRow[];
  }

  /** Block entries in a symbol until `until` (ms); a later block never shortens an earlier one. */
  avoid(symbol: string, until: number, epoch: string, seq: number): void {
    this.st.setAvoid.run(symbol.toUpperCase(), until, epoch, seq);
  }

  /** Symbol -> the block still active at `now`, named by the signal that set it. */
  avoids(now: number): Record<string, EntryBlock> {
    const out: Record<string, EntryBlock> = {};
    type Row = { symbol: string; until: number; seq: number; action: string | null; catalyst: string | null };
    for (const r of this.st.activeAvoids.all(now) as Row[])
      out[r.symbol] = {
        until: r.until,
        kind: r.action === 'exit' ? 'exit' : 'avoid',
        seq: r.seq,
        catalyst: r.catalyst ?? undefined,
      };
    return out;
  }

  list(f: DecisionFilter = {}): DecisionRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, arg: unknown) => {
      where.push(clause);
      args.push(arg);
    };
    if (f.verdict) add('verdict = ?', f.verdict);
    if (f.reason) add('reason LIKE ?', `%${f.reason}%`);
    if (f.symbol) add('symbol = ?', f.symbol.toUpperCase());
    if (f.sinceMs !== undefined) add('decided_at >= ?', f.sinceMs);
    // Built per call from fixed clauses only (values are bound): the filter combinations are few and cheap.
    const sql = `SELECT * FROM decisions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, f.limit ?? 50) as DecisionRow[];
  }

  reasonCounts(): { verdict: string; reason: string; n: number }[] {
    return this.st.reasonCounts.all() as { verdict: string; reason: string; n: number }[];
  }
}
