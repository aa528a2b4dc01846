/** One histogram as cumulative bucket counts (Prometheus `le` semantics), the last bound being +Inf. */
export interface Buckets {
  /** Upper bounds, ascending; the last is Infinity. */
  le: readonly number[];
  /** Cumulative counts per bound (counts[i] observations were <= le[i]). */
  counts: readonly number[];
}

/** b - a, bucket by bucket: the observations made between two readings of the same histogram. */
export function bucketsDelta(a: Buckets | undefined, b: Buckets): Buckets {
  if (!a || a.counts.length !== b.counts.length) return b;
  return { le: b.le, counts: b.counts.map((c, i) => Math.max(0, c - (a.counts[i] ?? 0))) };
}

/**
 * The q-quantile of a bucketed histogram, as Prometheus' histogram_quantile computes it: find the bucket the
 * rank falls in and interpolate linearly inside it (the first bucket from 0). A rank in the +Inf bucket
 * answers the highest finite bound, the most the buckets can say. Undefined without observations.
 */
export function histogramQuantile(q: number, h: Buckets): number | undefined {
  const total = h.counts.at(-1) ?? 0;
  if (total <= 0 || h.le.length === 0) return undefined;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let i = h.counts.findIndex((c) => c >= rank);
  if (i < 0) i = h.counts.length - 1;
  const upper = h.le[i]!;
  if (!Number.isFinite(upper)) return h.le.length > 1 ? h.le[h.le.length - 2] : undefined;
  const lower = i === 0 ? 0 : h.le[i - 1]!;
  const below = i === 0 ? 0 : h.counts[i - 1]!;
  const inBucket = h.counts[i]! - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}
