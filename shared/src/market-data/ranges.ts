/** Half-open [start, end) ranges of epoch ms: the pure bookkeeping of what a bar cache already covers. */
export type Range = readonly [start: number, end: number];

/** Sorted, with overlapping or touching ranges joined. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The parts of [start, end) not inside any of `covered`. */
export function missingRanges(start: number, end: number, covered: readonly Range[]): Range[] {
  const out: Range[] = [];
  let at = start;
  for (const [a, b] of mergeRanges(covered)) {
    if (b <= at) continue;
    if (a >= end) break;
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
    if (at >= end) break;
  }
  if (at < end) out.push([at, end]);
  return out;
}
