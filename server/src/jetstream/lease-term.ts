import { z } from 'zod';

/**
 * The arithmetic of a lease kept in a KV entry, without the KV: what a contender does with what it read, and
 * when a holder renews and must stop. Time is an argument (ms since the epoch), so every rule is tested alone.
 *
 * Safety rests on two clocks never disagreeing by more than `skewMs`: the holder stops acting at the end of
 * the term it wrote (measured from before its write was sent, so the write's latency only shortens it), and
 * nobody else takes over before that end plus `skewMs`.
 */
export const LeaseRecordSchema = z.strictObject({
  /** Who holds it: unique per process (a restarted process is a new contender, never the old holder). */
  node: z.string().min(1).max(200),
  /** End of the holder's term, wall-clock ms. */
  until_ms: z.number().int().nonnegative(),
});
export type LeaseRecord = z.output<typeof LeaseRecordSchema>;

export interface LeaseTerm {
  /** How long one write holds the lease. */
  termMs: number;
  /** Largest clock difference between nodes tolerated; a successor waits this long past the term. */
  skewMs: number;
}

/** A one-line error for a term that cannot work, else undefined. */
export function leaseTermProblem(t: LeaseTerm): string | undefined {
  if (!Number.isInteger(t.termMs) || t.termMs < 30)
    return `lease term must be an integer of at least 30 ms, got ${t.termMs}`;
  if (!Number.isInteger(t.skewMs) || t.skewMs < 0)
    return `lease skew margin must be a non-negative integer, got ${t.skewMs}`;
  return undefined;
}

/** What the KV entry held when read: absent (never written, deleted, purged) or a value with its revision. */
export type LeaseSeen =
  | { kind: 'absent'; revision?: number }
  | { kind: 'held'; record: LeaseRecord; revision: number }
  /** A value that is not a lease record: nobody can claim to hold it, so it is taken over like an ended term. */
  | { kind: 'malformed'; revision: number };

/** What a contender (not holding) does next. */
export type ContendStep =
  { kind: 'create' } | { kind: 'take_over'; revision: number } | { kind: 'wait'; ms: number; holder: string };

export function contend(seen: LeaseSeen, nowMs: number, t: LeaseTerm): ContendStep {
  switch (seen.kind) {
    case 'absent':
      return { kind: 'create' };
    case 'malformed':
      return { kind: 'take_over', revision: seen.revision };
    case 'held': {
      const free = takeOverAt(seen.record, t);
      return nowMs >= free
        ? { kind: 'take_over', revision: seen.revision }
        : { kind: 'wait', ms: free - nowMs, holder: seen.record.node };
    }
  }
}

/** Earliest moment anyone but the holder may write over its record. */
export const takeOverAt = (r: LeaseRecord, t: LeaseTerm): number => r.until_ms + t.skewMs;

/** The record a write sent at `sentAtMs` carries: the term counts from before the write left. */
export const recordFor = (node: string, sentAtMs: number, t: LeaseTerm): LeaseRecord => ({
  node,
  until_ms: sentAtMs + t.termMs,
});

/** A holder renews every third of its term: two renewals can fail (or be slow) before the term runs out. */
export const renewEveryMs = (t: LeaseTerm): number => Math.max(1, Math.floor(t.termMs / 3));

/** Whether a holder whose last successful write carried `untilMs` may still act at `nowMs`. */
export const mayAct = (untilMs: number, nowMs: number): boolean => nowMs < untilMs;
