/** HDR histograms in microseconds, shipped between processes as compressed base64. */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export const encodeHistogram = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h);

export function mergeHistograms(encoded: string[]): Histogram {
  const total = newHistogram();
  for (const e of encoded) if (e) total.add(hdr.decodeFromCompressedBase64(e, 32, false));
  return total;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Milliseconds, three decimals. */
export function summarise(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}
