import { createHash } from 'node:crypto';
import type { BacktestRun, BacktestTrade } from './engine.js';

/**
 * What a backtest says: figures per config (and its unfiltered baseline), the benchmark, and the assumptions
 * the fills rest on. Pure: the runs in, text / JSON / HTML out.
 */

export const ASSUMPTIONS = [
  'decided at ingested_at through the same pipeline as run (history published over an hour late: at classified_at)',
  'a market order fills at the open of the first 1-minute bar at or after the signal, slippage against you',
  'limits fill only when a bar trades through them, at the limit or the better open; queue position is ignored',
  'stop before target: when one bar crosses both legs of a bracket or OCO pair, the stop fills',
  'sessions as Alpaca: extended hours take limit orders only; DAY orders expire at the close',
  'fees and slippage from paper.fee_rate and paper.slippage_pct; open positions marked at the last close',
  'approval mode is not simulated: an entry that would wait for a yes is placed as if approved at once',
];

export interface Breakdown {
  trades: number;
  wins: number;
  pnl: number;
}

export interface Summary {
  signals: number;
  decisions: BacktestRun['decisions'];
  byReason: Record<string, number>;
  trades: number;
  closed: number;
  open: number;
  wins: number;
  /** Wins over closed trades; null without a closed trade. */
  winRate: number | null;
  pnl: number;
  returnPct: number;
  fees: number;
  maxDrawdown: number;
  maxDrawdownPct: number;
  startingBalance: number;
  endingEquity: number;
  byCatalyst: Record<string, Breakdown>;
  bySession: Record<string, Breakdown>;
  curve: [number, number][];
  backfilled: number;
  noBars: string[];
}

export interface ConfigResult {
  name: string;
  run: Summary;
  /** The same config with filters and risk limits off: every enter signal. */
  baseline: Summary;
  trades: BacktestTrade[];
}

export interface BacktestReport {
  /** The window as asked (--from .. --to), and its instants (ISO). */
  window: string;
  from: string;
  to: string;
  assumptions: string[];
  benchmark: { symbol: string; returnPct: number | null; from?: number | undefined; to?: number | undefined };
  configs: ConfigResult[];
  elapsedMs: number;
}

function breakdown(trades: readonly BacktestTrade[], key: (t: BacktestTrade) => string) {
  const out: Record<string, Breakdown> = {};
  for (const t of trades) {
    const b = (out[key(t)] ??= { trades: 0, wins: 0, pnl: 0 });
    b.trades++;
    if (t.pnl > 0) b.wins++;
    b.pnl += t.pnl;
  }
  return out;
}

export function summarize(r: BacktestRun): Summary {
  const closed = r.trades.filter((t) => !t.open);
  const wins = closed.filter((t) => t.pnl > 0).length;
  const pnl = r.endingEquity - r.startingBalance;
  return {
    signals: r.signals,
    decisions: r.decisions,
    byReason: r.byReason,
    trades: r.trades.length,
    closed: closed.length,
    open: r.trades.length - closed.length,
    wins,
    winRate: closed.length ? wins / closed.length : null,
    pnl,
    returnPct: (pnl / r.startingBalance) * 100,
    fees: r.fees,
    maxDrawdown: r.maxDrawdown,
    maxDrawdownPct: (r.maxDrawdown / r.startingBalance) * 100,
    startingBalance: r.startingBalance,
    endingEquity: r.endingEquity,
    byCatalyst: breakdown(r.trades, (t) => t.catalyst),
    bySession: breakdown(r.trades, (t) => t.session),
    curve: r.curve,
    backfilled: r.backfilled,
    noBars: r.noBars,
  };
}

const money = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
const pct = (x: number | null) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(2)} %`);
const rate = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);

function rows(report: BacktestReport): { head: string[]; body: [string, ...string[]][] } {
  const cols: { name: string; s: Summary }[] = [];
  for (const c of report.configs) cols.push({ name: c.name, s: c.run });
  for (const c of report.configs) cols.push({ name: `${c.name}: every enter, no filters`, s: c.baseline });
  const line = (label: string, f: (s: Summary) => string): [string, ...string[]] => [
    label,
    ...cols.map((c) => f(c.s)),
  ];
  return {
    head: cols.map((c) => c.name),
    body: [
      line('signals decided', (s) => String(s.signals)),
      line('trades (closed / open)', (s) => `${s.trades} (${s.closed} / ${s.open})`),
      line('win rate (closed)', (s) => rate(s.winRate)),
      line('P&L (fees included)', (s) => money(s.pnl)),
      line('return', (s) => pct(s.returnPct)),
      line('max drawdown', (s) => `${s.maxDrawdown.toFixed(2)} (${s.maxDrawdownPct.toFixed(2)} %)`),
      line('fees', (s) => s.fees.toFixed(2)),
      line('equity', (s) => `${s.startingBalance.toFixed(2)} -> ${s.endingEquity.toFixed(2)}`),
    ],
  };
}

export function formatBacktest(report: BacktestReport): string {
  const { head, body } = rows(report);
  const w0 = Math.max(...body.map((r) => r[0].length));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i + 1]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(w0) : c.padStart(widths[i - 1]!))).join('   ');
  const b = report.benchmark;
  const out = [
    `backtest ${report.window} on 1-minute bars (${(report.elapsedMs / 1000).toFixed(1)} s)`,
    fmt(['', ...head]),
    ...body.map(fmt),
    `benchmark ${b.symbol} buy-and-hold over the window: ${pct(b.returnPct)}${b.returnPct === null ? ' (no bars)' : ''}`,
  ];
  for (const c of report.configs) {
    const cats = Object.entries(c.run.byCatalyst)
      .sort((x, y) => y[1].pnl - x[1].pnl)
      .map(([k, v]) => `${k} ${v.trades} ${money(v.pnl)}`);
    const sess = Object.entries(c.run.bySession).map(([k, v]) => `${k} ${v.trades} ${money(v.pnl)}`);
    if (cats.length) out.push(`${c.name} by catalyst: ${cats.join(', ')}; by session: ${sess.join(', ')}`);
    if (c.run.backfilled)
      out.push(`${c.name}: ${c.run.backfilled} signals published late, decided at their classification`);
    if (c.run.noBars.length)
      out.push(`${c.name}: no bars for ${c.run.noBars.join(', ')} (filled at the signal price)`);
  }
  out.push('assumptions:', ...report.assumptions.map((a) => `  - ${a}`));
  return out.join('\n');
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const COLORS = ['#1f6feb', '#d1242f', '#8250df', '#1a7f37'];

function curveSvg(report: BacktestReport): string {
  const lines = report.configs.flatMap((c, i) => [
    { name: c.name, pts: c.run.curve, color: COLORS[i % COLORS.length]!, dash: '' },
    { name: `${c.name} (no filters)`, pts: c.baseline.curve, color: COLORS[i % COLORS.length]!, dash: '4 3' },
  ]);
  const all = lines.flatMap((l) => l.pts);
  if (!all.length) return '<p>No equity points (no signal in the window).</p>';
  const W = 800;
  const H = 260;
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const e0 = Math.min(...all.map((p) => p[1]));
  const e1 = Math.max(...all.map((p) => p[1]), e0 + 1e-9);
  const x = (t: number) => (((t - t0) / (t1 - t0)) * (W - 60) + 50).toFixed(1);
  const y = (e: number) => (H - 20 - ((e - e0) / (e1 - e0)) * (H - 40)).toFixed(1);
  const polys = lines
    .filter((l) => l.pts.length)
    .map(
      (l) =>
        `<polyline fill="none" stroke="${l.color}" stroke-width="2"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''} points="${l.pts.map((p) => `${x(p[0])},${y(p[1])}`).join(' ')}"><title>${esc(l.name)}</title></polyline>`,
    )
    .join('');
  const legend = lines
    .map(
      (l, i) =>
        `<text x="${60 + (i % 2) * 360}" y="${14 + Math.floor(i / 2) * 14}" font-size="12" fill="${l.color}">${esc(l.name)}${l.dash ? ' (dashed)' : ''}</text>`,
    )
    .join('');
  return `<svg viewBox="0 0 ${W} ${H + 10 * lines.length}" width="100%" role="img" aria-label="equity curve">${legend}<text x="2" y="${y(e1)}" font-size="11">${e1.toFixed(0)}</text><text x="2" y="${y(e0)}" font-size="11">${e0.toFixed(0)}</text>${polys}</svg>`;
}

function table(head: string[], body: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function breakdownTable(title: string, by: Record<string, Breakdown>): string {
  const body = Object.entries(by)
    .sort((a, b) => b[1].pnl - a[1].pnl)
    .map(([k, v]) => [k, String(v.trades), rate(v.trades ? v.wins / v.trades : null), money(v.pnl)]);
  return `<h3>${esc(title)}</h3>${body.length ? table(['', 'trades', 'winners', 'P&L'], body) : '<p>No trades.</p>'}`;
}

const STYLE =
  'body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}';

/**
 * A self-contained report: no script at all, one <style> element allowed by its hash in the page's own
 * Content-Security-Policy (default-src 'none'), so it opens anywhere, offline, and runs nothing.
 */
export function backtestHtml(report: BacktestReport): string {
  const hash = createHash('sha256').update(STYLE).digest('base64');
  const { head, body } = rows(report);
  const b = report.benchmark;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${hash}'; img-src data:">
<title>Backtest ${esc(report.window)}</title><style>${STYLE}</style></head><body>
<h1>Backtest ${esc(report.window)}</h1>
<p>Hypothetical results: fills simulated on 1-minute bars.</p>
${table(['', ...head], body)}
<p>Benchmark ${esc(b.symbol)} buy-and-hold over the window: ${esc(pct(b.returnPct))}</p>
<h2>Equity</h2>${curveSvg(report)}
${report.configs
  .map(
    (c) =>
      `<h2>${esc(c.name)}</h2>${breakdownTable('By catalyst', c.run.byCatalyst)}${breakdownTable('By session', c.run.bySession)}`,
  )
  .join('\n')}
<h2>Assumptions</h2><ul>${report.assumptions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>
</body></html>
`;
}
