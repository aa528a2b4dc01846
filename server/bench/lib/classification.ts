/**
 * The classification every publisher in the benchmarks sends (≈230 bytes as JSON). `meta.t` carries the
 * INTENDED send time in monotonic microseconds, so latency = arrival - intended (no coordinated omission).
 */
const CLASSIFIED_AT = new Date().toISOString();

export function classification(sourceId: string, intendedUs: number): Record<string, unknown> {
  return {
    source_id: sourceId,
    symbol: 'ACME',
    catalyst: 'earnings',
    direction: 'long',
    confidence: 0.87,
    price: 12.34,
    headline: 'ACME beats Q3 estimates and raises full-year guidance',
    classified_at: CLASSIFIED_AT,
    meta: { t: intendedUs },
  };
}
