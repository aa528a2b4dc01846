/** The issue's targets, evaluated on one run's medians: ratios are always taken within the same run. */
import type { ServerName } from '../lib/servers.js';
import { medianOf, QUIET_PCT } from '../lib/stats.js';
import type { Results } from '../results.js';

export interface Target {
  text: string;
  /** Where it was measured, e.g. "S1, 2000 clients (quick mode; the target names 5000)". */
  where: string;
  ours: number | null;
  peer: number | null;
  peerName: string;
  /** ours ÷ peer. */
  ratio: number | null;
  required: string;
  pass: boolean | null;
  unit: string;
}

const PEERS: ServerName[] = ['ws-naive', 'ws-once', 'socketio'];

function closest<T extends { clients: number }>(rows: T[], clients: number): T | undefined {
  return [...rows].sort((a, b) => Math.abs(a.clients - clients) - Math.abs(b.clients - clients))[0];
}

function target(
  text: string,
  where: string,
  ours: number | undefined,
  peer: number | undefined,
  peerName: string,
  unit: string,
  required: string,
  ok: (ratio: number) => boolean,
): Target {
  const have = ours !== undefined && peer !== undefined && peer > 0;
  const ratio = have ? ours / peer : null;
  return {
    text,
    where,
    ours: ours ?? null,
    peer: peer ?? null,
    peerName,
    ratio,
    required,
    pass: ratio === null ? null : ok(ratio),
    unit,
  };
}

export function evaluateTargets(r: Results): Target[] {
  const out: Target[] = [];
  const s1mid = closest(r.s1, 5000);
  const s1top = closest(r.s1, 10_000);
  const loud = (row: (typeof r.s1)[number]) =>
    ['catalyst', 'ws-naive', 'socketio'].some((s) => {
      const runs = row.runs.filter((x) => x.server === s);
      return runs.length > 0 && runs.every((x) => x.foreignCpuPct >= QUIET_PCT);
    });
  const scaled = (row: (typeof r.s1)[number] | undefined, want: number) =>
    row
      ? `S1, ${row.clients} clients${row.clients !== want ? ` (${r.mode} mode; the target names ${want})` : ''}` +
        (loud(row) ? '; every round of a compared server had outside CPU load: unreliable' : '')
      : 'S1 not run';
  const cpu = (server: string) =>
    s1mid ? medianOf(s1mid.runs, server, (x) => x.serverCpuUsPerDelivery)?.median : undefined;
  out.push(
    target(
      'Server CPU per delivered message ≤ 1/4 of ws naive',
      scaled(s1mid, 5000),
      cpu('catalyst'),
      cpu('ws-naive'),
      'ws naive',
      'µs',
      '≤ 0.25',
      (x) => x <= 0.25,
    ),
    target(
      'Server CPU per delivered message ≤ 1/3 of Socket.IO',
      scaled(s1mid, 5000),
      cpu('catalyst'),
      cpu('socketio'),
      'Socket.IO',
      'µs',
      '≤ 0.333',
      (x) => x <= 1 / 3,
    ),
  );
  const p99 = (server: string) =>
    s1top ? medianOf(s1top.runs, server, (x) => x.latency.p99)?.median : undefined;
  out.push(
    target(
      'p99 fan-out latency ≤ 1/3 of ws naive',
      scaled(s1top, 10_000),
      p99('catalyst'),
      p99('ws-naive'),
      'ws naive',
      'ms',
      '≤ 0.333',
      (x) => x <= 1 / 3,
    ),
  );

  const s2 = r.s2;
  const cap = (server: string) => (s2 ? medianOf(s2.runs, server, (x) => x.maxSustained)?.median : undefined);
  const bestCap = best(PEERS, cap, 'max');
  out.push(
    target(
      'Max sustained delivered msg/s ≥ 2× the best peer',
      s2 ? `S2, ${s2.clients} clients` : 'S2 not run',
      cap('catalyst'),
      bestCap.value,
      bestCap.name,
      'msg/s',
      '≥ 2',
      (x) => x >= 2,
    ),
  );

  const s5 = r.s5;
  const mem = (server: string) =>
    s5 ? medianOf(s5.runs, server, (x) => x.bytesPerConnection)?.median : undefined;
  const bestMem = best(PEERS, mem, 'min');
  out.push(
    target(
      'RSS per idle connection ≤ the best peer',
      s5 ? `S5, ${s5.clients} connections` : 'S5 not run',
      mem('catalyst'),
      bestMem.value,
      bestMem.name,
      'bytes',
      '≤ 1',
      (x) => x <= 1,
    ),
  );

  const full = r.s3.find((row) => row.sync === 'full' && row.subscribers === 0);
  const ingest = (server: string) =>
    full ? medianOf(full.runs, server, (x) => x.persistedPerS)?.median : undefined;
  const bestIngest = best(PEERS, ingest, 'max');
  out.push(
    target(
      'Ingest under synchronous=FULL ≥ 3× the peers',
      full ? `S3, FULL, 0 subscribers, ${full.concurrency} connections` : 'S3 FULL not run',
      ingest('catalyst'),
      bestIngest.value,
      bestIngest.name,
      'signals/s',
      '≥ 3',
      (x) => x >= 3,
    ),
  );
  const normal = r.s3.find((row) => row.sync === 'normal' && row.subscribers === 0);
  const normalIngest = (server: string) =>
    normal ? medianOf(normal.runs, server, (x) => x.persistedPerS)?.median : undefined;
  const where = normal ? `S3, NORMAL, 0 subscribers, ${normal.concurrency} connections` : 'S3 NORMAL not run';
  out.push(
    target(
      'Ingest under synchronous=NORMAL, per-signal signatures off ≥ 1.5× ws naive',
      where,
      normalIngest('catalyst-unsigned'),
      normalIngest('ws-naive'),
      'ws naive',
      'signals/s',
      '≥ 1.5',
      (x) => x >= 1.5,
    ),
  );
  const cpP99 = normal
    ? medianOf(normal.runs, 'catalyst', (x) => x.checkpoint?.p99 ?? NaN)?.median
    : undefined;
  out.push(
    target(
      'Checkpoint latency p99 (POST -> a checkpoint covering it) ≤ 1 s',
      where,
      cpP99 !== undefined && !Number.isNaN(cpP99) ? cpP99 : undefined,
      1000,
      '1 s',
      'ms',
      '≤ 1',
      (x) => x <= 1,
    ),
  );
  return out;
}

function best(
  names: ServerName[],
  value: (s: string) => number | undefined,
  dir: 'min' | 'max',
): { name: string; value?: number } {
  let out: { name: string; value?: number } = { name: 'best peer' };
  for (const name of names) {
    const v = value(name);
    if (v === undefined) continue;
    if (out.value === undefined || (dir === 'max' ? v > out.value : v < out.value)) out = { name, value: v };
  }
  return out;
}
