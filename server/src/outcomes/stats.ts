import { mean, medianSorted, sampleStandardDeviation } from 'simple-statistics';

/**
 * Summary statistics with 95 % confidence intervals, pure. Means (compensated sums), medians and standard
 * deviations come from simple-statistics (small, well-kept, no dependencies). It has no Student-t quantile, no
 * interval for a median, and its normal quantile (probit) is good to about three digits only, so three things
 * are here, each with known-answer tests: Hill's Student-t quantile (CACM algorithm 396, 1970, where R's qt
 * starts), Wilson's interval for a hit rate, and the exact order-statistic interval of a median.
 */

export const CONFIDENCE = 0.95;
/** The standard normal's 97.5 % point. */
const Z975 = 1.959963984540054;
const P = 1 - CONFIDENCE;
/** Sample sizes up to which the median's interval is found from the exact binomial. */
const EXACT_UP_TO = 1000;

/** The Student-t distribution's 97.5 % point for `df` degrees of freedom (two-sided 95 %). */
export function t975(df: number): number {
  if (!(df >= 1)) throw new RangeError('t975: df >= 1');
  const n = df;
  const p = P;
  if (n === 1) {
    const a = (p * Math.PI) / 2;
    return Math.cos(a) / Math.sin(a);
  }
  if (n === 2) return Math.sqrt(2 / (p * (2 - p)) - 2);
  const a = 1 / (n - 0.5);
  const b = 48 / (a * a);
  let c = ((((20700 * a) / b - 98) * a - 16) * a + 96.36) as number;
  const d = ((94.5 / (b + c) - 3) / b + 1) * Math.sqrt((a * Math.PI) / 2) * n;
  let y = Math.pow(d * p, 2 / n);
  if (y > 0.05 + a) {
    // Far in the tail for this df: start from the normal quantile and correct it.
    const x = -Z975;
    y = x * x;
    if (n < 5) c += 0.3 * (n - 4.5) * (x + 0.6);
    c = (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c;
    y = (((((0.4 * y + 6.3) * y + 36) * y + 94.5) / c - y - 3) / b + 1) * x;
    y = Math.expm1(a * y * y);
  } else {
    y =
      ((1 / (((n + 6) / (n * y) - 0.089 * d - 0.822) * (n + 2) * 3) + 0.5 / (n + 4)) * y - 1) *
        ((n + 1) / (n + 2)) +
      1 / y;
  }
  return Math.sqrt(n * y);
}

/** Wilson's score interval for a proportion (sound at 0 and n hits, unlike the normal one). */
export function wilsonInterval(hits: number, n: number): [number, number] {
  const z = Z975;
  const p = hits / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = ((z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) as number;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * The order-statistic interval of a median: [x(j), x(n+1-j)] with the largest j whose coverage under
 * Binomial(n, 1/2) is still at least `confidence`; undefined when even the sample's range covers less (n < 6
 * at 95 %). Exact, and it assumes nothing about the distribution of returns (they are far from normal).
 */
export function medianInterval(
  sorted: readonly number[],
  confidence = CONFIDENCE,
): [number, number] | undefined {
  const n = sorted.length;
  if (n > EXACT_UP_TO && confidence === CONFIDENCE) {
    // Large samples: the binomial is normal to well under one rank here, so the rank is direct (O(1), not O(n)).
    const j = Math.floor((n - Z975 * Math.sqrt(n)) / 2);
    return [sorted[j - 1]!, sorted[n - j]!];
  }
  const tail = (1 - confidence) / 2;
  // P(B <= k) for B ~ Binomial(n, 1/2), in log space so that n in the tens of thousands does not underflow.
  let logPmf = -n * Math.LN2;
  let cdf = 0;
  let j = 0;
  for (let k = 0; k < n / 2; k++) {
    cdf += Math.exp(logPmf);
    // Coverage of [x(k+1), x(n-k)] is 1 - 2 P(B <= k).
    if (cdf > tail) break;
    j = k + 1;
    logPmf += Math.log(n - k) - Math.log(k + 1);
  }
  if (j === 0) return undefined;
  return [sorted[j - 1]!, sorted[n - j]!];
}

export interface Summary {
  n: number;
  hits: number;
  /** Share of values > 0 and its Wilson interval. */
  hitRate: number;
  hitRateCi: [number, number];
  mean: number;
  /** t-interval of the mean; undefined below 2 values. */
  meanCi: [number, number] | undefined;
  median: number;
  medianCi: [number, number] | undefined;
}

/** Count, hit rate, mean and median, each with its 95 % interval; undefined for no values (never zeros). */
export function summarize(values: readonly number[]): Summary | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  // A typed array sorts numerically in native code, several times faster than a comparator on 50k returns.
  const sorted = Array.from(Float64Array.from(values).sort());
  const hits = values.filter((v) => v > 0).length;
  const m = mean(sorted);
  let meanCi: [number, number] | undefined;
  if (n >= 2) {
    const half = (t975(n - 1) * sampleStandardDeviation(sorted)) / Math.sqrt(n);
    meanCi = [m - half, m + half];
  }
  return {
    n,
    hits,
    hitRate: hits / n,
    hitRateCi: wilsonInterval(hits, n),
    mean: m,
    meanCi,
    median: medianSorted(sorted),
    medianCi: medianInterval(sorted),
  };
}
