/** Medians and spread over rounds. */

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** Below this much outside CPU load (% of one core) a run counts as quiet. */
export const QUIET_PCT = 10;

/**
 * Median of `pick` over the runs of one server. The machine is shared, so when a server has quiet runs
 * (outside load < QUIET_PCT) only those count; otherwise all of them do. Same rule for every server.
 */
export function medianOf<R extends { server: string; foreignCpuPct?: number }>(
  runs: R[],
  server: string,
  pick: (r: R) => number,
): Spread | null {
  const mine = runs.filter((r) => r.server === server);
  const quiet = mine.filter((r) => (r.foreignCpuPct ?? 0) < QUIET_PCT);
  return spread((quiet.length ? quiet : mine).map(pick));
}
