/** Turn a Results object into docs/benchmarks.md + docs/benchmarks.svg (or, for --smoke, into a verdict). */
import { writeFileSync } from 'node:fs';
import type { ServerName } from '../lib/servers.js';
import { medianOf } from '../lib/stats.js';
import type { Results } from '../results.js';
import { clusterProblems } from './cluster.js';
import { renderMarkdown } from './markdown.js';
import { chart, type Panel, type Series } from './svg.js';
import { evaluateTargets } from './targets.js';

const DOCS = new URL('../../../docs/', import.meta.url).pathname;
const SHORT: Record<ServerName, string> = {
  catalyst: 'ours',
  'ws-naive': 'ws naive',
  'ws-once': 'ws once',
  socketio: 'Socket.IO',
  'catalyst-unsigned': 'ours, no sig',
};
const COLORS: Record<ServerName, string> = {
  catalyst: '#1b7f3b',
  'ws-naive': '#c0392b',
  'ws-once': '#e67e22',
  socketio: '#2c6fbb',
  'catalyst-unsigned': '#7fbf3b',
};

function panels(r: Results): Panel[] {
  const series = (values: (s: ServerName) => (number | null)[]): Series[] =>
    r.servers.map((s) => ({ name: SHORT[s], color: COLORS[s], values: values(s) }));
  const med = <R extends { server: string }>(runs: R[], s: ServerName, pick: (x: R) => number) =>
    medianOf(runs, s, pick)?.median ?? null;
  const out: Panel[] = r.s1.map((row) => ({
    title: `S1 latency, ${row.clients} clients, ${row.deliveriesPerS / 1000}k deliveries/s`,
    unit: 'ms',
    categories: ['p50', 'p99', 'last subscriber p99'],
    series: series((s) => [
      med(row.runs, s, (x) => x.latency.p50),
      med(row.runs, s, (x) => x.latency.p99),
      med(row.runs, s, (x) => x.timeToLast.p99),
    ]),
  }));
  if (r.s1.length) {
    out.push({
      title: 'S1 server CPU per delivered message',
      unit: 'µs',
      categories: r.s1.map((row) => `${row.clients} clients`),
      series: series((s) => r.s1.map((row) => med(row.runs, s, (x) => x.serverCpuUsPerDelivery))),
    });
  }
  if (r.s2) {
    const s2 = r.s2;
    out.push({
      title: `S2 max sustained deliveries, ${s2.clients} clients`,
      unit: 'msg/s',
      categories: ['delivered msg/s'],
      series: series((s) => [med(s2.runs, s, (x) => x.maxSustained)]),
    });
  }
  const ingestRows = r.s3.filter((row) => row.subscribers === 0);
  if (ingestRows.length) {
    out.push({
      title: 'S3 ingest, 0 subscribers',
      unit: 'signals/s',
      categories: ingestRows.map((row) => `sync ${row.sync.toUpperCase()}`),
      series: series((s) => ingestRows.map((row) => med(row.runs, s, (x) => x.persistedPerS))),
    });
  }
  if (r.s5) {
    const s5 = r.s5;
    out.push({
      title: `S5 memory per idle connection (${s5.clients})`,
      unit: 'KB',
      categories: ['RSS per connection'],
      series: series((s) => [(med(s5.runs, s, (x) => x.bytesPerConnection) ?? NaN) / 1024]),
    });
  }
  return out;
}

/** Sanity problems a smoke run must not have (anything lost, duplicated, malformed or failed). */
export function smokeProblems(r: Results): string[] {
  const p: string[] = [];
  for (const row of r.s1) {
    for (const f of row.failures) p.push(`S1 ${f.server}: ${f.error.split('\n')[0]}`);
    for (const x of row.runs) {
      if (x.drops || x.gaps || x.dups || x.invalid || x.disconnects)
        p.push(
          `S1 ${x.server}: drops ${x.drops} gaps ${x.gaps} dups ${x.dups} invalid ${x.invalid} disconnects ${x.disconnects}`,
        );
    }
  }
  for (const row of r.s3) {
    for (const f of row.failures) p.push(`S3 ${f.server}: ${f.error.split('\n')[0]}`);
    for (const x of row.runs)
      if (x.acks === 0 || x.non2xx || x.errors)
        p.push(`S3 ${x.server}: acks ${x.acks} non-2xx ${x.non2xx} errors ${x.errors}`);
  }
  for (const x of r.s4) {
    if (x.error) p.push(`S4 ${x.server}: ${x.error.split('\n')[0]}`);
    for (const c of [x.single, x.many])
      if (c && (c.caughtUp < c.clients || c.gaps || c.dups))
        p.push(`S4 ${x.server}: caught up ${c.caughtUp}/${c.clients} gaps ${c.gaps} dups ${c.dups}`);
  }
  for (const f of r.s5?.failures ?? []) p.push(`S5 ${f.server}: ${f.error.split('\n')[0]}`);
  return [...p, ...clusterProblems(r)];
}

/** Writes the docs (not for smoke runs); returns the smoke problems. */
export function writeReport(r: Results, smoke = false): string[] {
  if (smoke) return smokeProblems(r);
  const targets = evaluateTargets(r);
  const svg = chart(
    panels(r),
    `${r.mode} mode, ${r.startedAt.slice(0, 10)}, ${r.machine.nproc} × ${r.machine.model}, Node ${r.machine.node}`,
  );
  writeFileSync(`${DOCS}benchmarks.svg`, svg);
  writeFileSync(`${DOCS}benchmarks.md`, renderMarkdown(r, targets, 'benchmarks.svg'));
  for (const t of targets) {
    const verdict = t.pass === null ? 'not measured' : t.pass ? 'pass' : 'FAIL';
    console.log(
      `target: ${t.text}: ${verdict}${t.ratio !== null ? ` (ours ÷ ${t.peerName} = ${t.ratio.toFixed(3)}, need ${t.required})` : ''}`,
    );
  }
  return [];
}
