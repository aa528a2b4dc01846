import type { Buckets } from './quantile.js';

/** Cumulative counters read from the metrics at one instant (all only ever go up while the process lives). */
export interface Sample {
  /** ms since the Unix epoch. */
  t: number;
  ingested: number;
  /** Signals new in this node's log (ingested, or applied from the cluster log on a gateway). */
  published: number;
  duplicates: number;
  slowConsumerCloses: number;
  /** catalyst_rate_limited_total by kind. */
  rateLimited: Readonly<Record<string, number>>;
  commit: Buckets;
  fanout: Buckets;
}

/**
 * The samples of the last `retainMs` (plus the one just before, the baseline of the oldest window), so rates
 * and latency quantiles can be taken over any window inside it by subtracting two samples. Time comes in with
 * each sample: nothing here reads a clock. Bounded by time and by `maxSamples`.
 */
export class SampleWindow {
  private samples: Sample[] = [];

  constructor(
    readonly retainMs: number,
    private readonly maxSamples = 1000,
  ) {}

  add(s: Sample): void {
    const last = this.samples.at(-1);
    if (last && s.t < last.t) return; // a clock step back: keep the series monotonic
    this.samples.push(s);
    const cutoff = s.t - this.retainMs;
    // Keep one sample at or before the cutoff: it is the baseline of a window that starts there.
    let drop = 0;
    while (drop + 1 < this.samples.length && this.samples[drop + 1]!.t <= cutoff) drop++;
    drop = Math.max(drop, this.samples.length - this.maxSamples);
    if (drop > 0) this.samples.splice(0, drop);
  }

  get size(): number {
    return this.samples.length;
  }

  latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  oldest(): Sample | undefined {
    return this.samples[0];
  }

  /** The newest sample taken at or before t; the oldest one when t is before all of them. */
  at(t: number): Sample | undefined {
    let lo = 0;
    let hi = this.samples.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.samples[mid]!.t <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return this.samples[Math.max(found, 0)];
  }
}
