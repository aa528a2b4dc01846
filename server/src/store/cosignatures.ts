import type { Db } from './db.js';

/**
 * Witness cosignatures of the transparency log's checkpoints (docs/transparency-log.md "Witnesses"), one per
 * (witness, size), and the signed checkpoint notes they are checked against. Only verified lines get here
 * (log/witnesses.ts); the first one a witness sent for a size is kept.
 */
export class CosignatureStore {
  private readonly stmt;

  constructor(db: Db) {
    this.stmt = {
      put: db.prepare(
        `INSERT OR IGNORE INTO tlog_cosignatures (witness, size, line, cosigned_s, received_ms) VALUES (?, ?, ?, ?, ?)`,
      ),
      forSize: db.prepare(`SELECT line FROM tlog_cosignatures WHERE size = ? ORDER BY witness`),
      note: db.prepare(`SELECT note FROM tlog_checkpoints WHERE size = ?`),
    };
  }

  /** True when stored; false when this witness already has one for this size. */
  put(witness: string, size: number, line: string, cosignedS: number, receivedMs: number): boolean {
    return this.stmt.put.run(witness, size, line, cosignedS, receivedMs).changes === 1;
  }

  lines(size: number): string[] {
    return (this.stmt.forSize.all(size) as { line: string }[]).map((r) => r.line);
  }

  /** The checkpoint this log signed at `size`, or undefined when it signed none of that size. */
  signedNote(size: number): string | undefined {
    return (this.stmt.note.get(size) as { note: string } | undefined)?.note;
  }
}
