import { parseCosignatureLine } from '@catalyst-signal/shared';
import { COSIGNED_SIZES } from './mirror.js';
import type { CosignatureRows } from './witnesses.js';

/** Where a cluster keeps cosignatures for every node (jetstream/cosignature-kv.ts). */
export interface CosignatureBucket {
  /** True when stored; false when this witness already has a line for this size (create-only). */
  create(size: number, witness: string, line: string): Promise<boolean>;
}

/**
 * Cluster mode's cosignatures (docs/transparency-log.md "Witnesses"): a verified line goes to the bucket all
 * nodes share; every node learns lines from the bucket's watch (`seen`), its own included, and serves the ones
 * of its COSIGNED_SIZES newest sizes. Notes to check against are the ones the cluster published (the mirror).
 * No NATS here: the jetstream side offers what it read.
 */
export class SharedCosignatures implements CosignatureRows {
  /** size -> witness -> line and whether it verified here (undefined: not checked yet), newest sizes only. */
  private readonly bySize = new Map<number, Map<string, { line: string; ok: boolean | undefined }>>();
  bucket: CosignatureBucket | undefined;
  /**
   * Checks a line against the note signed at `size` (WitnessBook.valid; undefined: that note is not known
   * here yet). Any node may write the bucket: each serves only what it verified itself.
   */
  valid: ((size: number, line: string) => boolean | undefined) | undefined;

  constructor(private readonly notes: { signedNote(size: number): string | undefined }) {}

  put(witness: string, size: number, line: string): Promise<boolean> {
    if (!this.bucket) return Promise.reject(new Error("the cluster's cosignature bucket is not open"));
    return this.bucket.create(size, witness, line);
  }

  lines(size: number): string[] {
    const m = this.bySize.get(size);
    if (!m) return [];
    const out: string[] = [];
    for (const w of [...m.keys()].sort()) {
      const e = m.get(w)!;
      if (e.ok === undefined) e.ok = this.valid ? this.valid(size, e.line) : true;
      if (e.ok) out.push(e.line);
    }
    return out;
  }

  signedNote(size: number): string | undefined {
    return this.notes.signedNote(size);
  }

  /** A line read from the bucket; true when it is new here (the caller re-serves that checkpoint). */
  seen(size: number, witness: string, line: string): boolean {
    if (!Number.isSafeInteger(size) || size < 1) return false;
    try {
      parseCosignatureLine(line);
    } catch {
      return false; // only verified lines are written; anything else is not served
    }
    let m = this.bySize.get(size);
    if (!m) {
      if (this.bySize.size >= COSIGNED_SIZES) {
        const oldest = Math.min(...this.bySize.keys());
        if (size < oldest) return false;
        this.bySize.delete(oldest);
      }
      m = new Map();
      this.bySize.set(size, m);
    }
    if (m.has(witness)) return false;
    m.set(witness, { line: line.endsWith('\n') ? line : line + '\n', ok: undefined });
    return true;
  }
}
