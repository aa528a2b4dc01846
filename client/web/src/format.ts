/** Number and time formatting for a small screen: a few significant digits, local time of day. */
export function money(v: number | null | undefined, quote = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  const s = a >= 10_000 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : a === 0 ? '0' : v.toPrecision(3);
  return quote ? `${s} ${quote}` : s;
}

export function signed(v: number, quote = ''): string {
  return (v > 0 ? '+' : '') + money(v, quote);
}

export function amount(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return Number(v.toPrecision(6)).toString();
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
}

export const SESSION_LABEL: Record<string, string> = {
  pre: 'pre-market',
  regular: 'regular session',
  after: 'after-hours',
  closed: 'market closed',
};

/**
 * The equity chart's time axis (seconds), given its x values and uPlot's own range. A curve of one point (no
 * fill yet: every fresh client) has no span, and uPlot stretches it by 86400 / 1e-3 s (its day in ms applied to
 * a seconds axis): "Mar 2027 … Sep 2029". An hour either side of the point reads as "now".
 */
export function timeRange(
  xs: ArrayLike<number>,
  min: number | null,
  max: number | null,
): [number | null, number | null] {
  const only = xs.length === 1 ? xs[0] : undefined;
  return only === undefined ? [min, max] : [only - 3600, only + 3600];
}

/** How long ago, for a glance: "12 s", "3 min", "2 h 5 min", "4 d". */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** Tick steps of the equity chart's time axis (s): whole minutes and up, never seconds. */
export const TIME_INCRS = [
  60,
  300,
  600,
  900,
  1800,
  3600,
  2 * 3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86_400,
  2 * 86_400,
  7 * 86_400,
  14 * 86_400,
  30 * 86_400,
  91 * 86_400,
  182 * 86_400,
  365 * 86_400,
];
/** Pixels between time ticks: room for the longest label ("Dec 31 23:59" is not used: see timeLabels). */
export const TIME_SPACE = 70;

/**
 * Labels of the time axis (ticks in s): one format for the whole axis, chosen by the tick step, so labels are
 * short and never overlap: under a day "14:30"; daily steps "Dec 6"; a month or more "Dec 2026". A tick on a
 * new day in an intraday axis says the day instead ("Dec 7"), so a reader sees where midnight is.
 */
export function timeLabels(ticks: readonly number[], step: number, tz?: string): string[] {
  const opts = (o: Intl.DateTimeFormatOptions) => (tz ? { ...o, timeZone: tz } : o);
  const hm = new Intl.DateTimeFormat('en-GB', opts({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
  const md = new Intl.DateTimeFormat('en-US', opts({ month: 'short', day: 'numeric' }));
  const my = new Intl.DateTimeFormat('en-US', opts({ month: 'short', year: 'numeric' }));
  const dayOf = (t: number) => md.format(t * 1000);
  return ticks.map((t, i) => {
    if (step >= 28 * 86_400) return my.format(t * 1000);
    if (step >= 86_400) return dayOf(t);
    const prev = ticks[i - 1];
    return prev !== undefined && dayOf(prev) !== dayOf(t) ? dayOf(t) : hm.format(t * 1000);
  });
}
