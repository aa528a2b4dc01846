/** The "Cluster mode" section of docs/benchmarks.md, and what a smoke run of it must not show. */
import { medianOf, spread, type Spread } from '../lib/stats.js';
import type { Results } from '../results.js';
import { TARGETS, type ClusterResult, type IngestTarget } from '../scenarios/cluster.js';

const n = (v: number | undefined | null, d = 1) =>
  v === undefined || v === null || !Number.isFinite(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: d });
const sp = (s: Spread | null, d = 1) =>
  !s ? 'n/a' : s.n > 1 ? `${n(s.median, d)} (${n(s.min, d)}–${n(s.max, d)})` : n(s.median, d);
const table = (head: string[], rows: string[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const LABEL: Record<IngestTarget, string> = {
  single: 'single node (SQLite)',
  R1: 'cluster, stream R1',
  R3: 'cluster, stream R3',
};

/** The budget behind the 100k plan: one broadcast reaches all of a gateway's clients within this much CPU. */
const BROADCAST_BUDGET_MS = 100;
const FRIENDS = 100_000;

/** Median over rounds of the runs of one target at one connection count. */
function ingestMedian(
  c: ClusterResult,
  target: IngestTarget,
  conc: number,
  pick: (x: ClusterResult['ingest'][number]) => number,
) {
  return spread(c.ingest.filter((x) => x.target === target && x.concurrency === conc).map(pick));
}

function ingestTable(c: ClusterResult): string {
  const concs = [...new Set(c.ingest.map((x) => x.concurrency))].sort((a, b) => a - b);
  const rows: string[][] = [];
  for (const conc of concs) {
    const single = ingestMedian(c, 'single', conc, (x) => x.ackedPerS);
    for (const t of TARGETS) {
      const runs = c.ingest.filter((x) => x.target === t && x.concurrency === conc);
      if (!runs.length) continue;
      const acked = ingestMedian(c, t, conc, (x) => x.ackedPerS);
      rows.push([
        LABEL[t],
        conc === 1 ? '1 (one POST at a time)' : String(conc),
        sp(acked, 0),
        n(ingestMedian(c, t, conc, (x) => x.ack.p50)?.median, 2),
        n(ingestMedian(c, t, conc, (x) => x.ack.p99)?.median, 2),
        String(runs.reduce((a, x) => a + x.non2xx + x.errors, 0)),
        n(ingestMedian(c, t, conc, (x) => x.serverCpuPct)?.median, 0),
        n(ingestMedian(c, t, conc, (x) => x.foreignCpuPct)?.median, 0),
        t === 'single' || !single || !acked ? '—' : `${n(acked.median / single.median, 2)}×`,
      ]);
    }
  }
  return table(
    [
      'target',
      'connections',
      'acked signals/s',
      '201 p50 ms',
      '201 p99 ms',
      'errors',
      'server CPU %',
      'other CPU %',
      '÷ single node',
    ],
    rows,
  );
}

function fanoutTable(c: ClusterResult): string {
  const rows = c.fanout.map((m) => [
    `${m.gateways}`,
    n(m.clients, 0),
    n(m.pubRate, 1),
    n(m.latency.p50, 2),
    n(m.latency.p99, 2),
    n(m.timeToLast.p99, 2),
    n(m.serverCpuUsPerDelivery, 2),
    n(m.deliveryPct, 3),
    String(m.drops + m.gaps + m.dups),
    m.genBound ? 'yes' : 'no',
  ]);
  return table(
    [
      'gateways',
      'clients',
      'publishes/s',
      'p50 ms',
      'p99 ms',
      'last p99 ms',
      'gateway CPU µs/msg',
      'delivered %',
      'drops+gaps+dups',
      'gen-bound',
    ],
    rows,
  );
}

function failoverTable(c: ClusterResult): string {
  const rows = c.failover.map((f) => [
    String(f.round + 1),
    n(f.clients, 0),
    n(f.missed, 0),
    n(f.ms, 0),
    `${n(f.caughtUp, 0)}/${n(f.clients, 0)}`,
    `${f.gaps} / ${f.dups}`,
    f.errors[0] ? `\`${f.errors[0].slice(0, 100)}\`` : '',
  ]);
  return table(
    [
      'round',
      'clients',
      'published after the kill',
      'kill → last client caught up, ms',
      'caught up',
      'gaps / dups',
      'notes',
    ],
    rows,
  );
}

function targets(c: ClusterResult): string[] {
  const out: string[] = [];
  const worst = c.failover.length
    ? Math.max(...c.failover.map((f) => (Number.isFinite(f.ms) ? f.ms : Infinity)))
    : null;
  out.push(
    `- Failover of ${n(c.failover[0]?.clients ?? 1000, 0)} clients ≤ 3 s: ${
      worst === null
        ? 'not measured'
        : `worst round ${n(worst, 0)} ms: **${worst <= 3000 ? 'pass' : 'FAIL'}**`
    }.`,
  );
  const concs = [...new Set(c.ingest.filter((x) => x.target === 'R3').map((x) => x.concurrency))];
  const best = concs
    .map((conc) => ({
      conc,
      acked: ingestMedian(c, 'R3', conc, (x) => x.ackedPerS)?.median ?? 0,
      p99: ingestMedian(c, 'R3', conc, (x) => x.ack.p99)?.median ?? Infinity,
    }))
    .filter((x) => x.p99 <= 50)
    .sort((a, b) => b.acked - a.acked)[0];
  out.push(
    `- Cluster R3 ingest ≥ 1,000 acked signals/s with 201 p99 ≤ 50 ms: ${
      !concs.length
        ? 'not measured'
        : best
          ? `${n(best.acked, 0)}/s at p99 ${n(best.p99, 2)} ms with ${best.conc} connection(s): **${best.acked >= 1000 ? 'pass' : 'FAIL'}**`
          : 'no R3 run had p99 ≤ 50 ms: **FAIL**'
    }.`,
  );
  return out;
}

/** Gateways for 100k friends, from the single-node fan-out cost per delivery and memory per socket. */
function plan(r: Results): string {
  const largest = [...r.s1].sort((a, b) => b.clients - a.clients)[0];
  const cpu = largest
    ? medianOf(largest.runs, 'catalyst', (x) => x.serverCpuUsPerDelivery)?.median
    : undefined;
  const bytes = r.s5 ? medianOf(r.s5.runs, 'catalyst', (x) => x.bytesPerConnection)?.median : undefined;
  const gw2 = r.cluster?.fanout.find((m) => m.gateways === 2)?.serverCpuUsPerDelivery;
  if (!largest || !cpu) return '- No single-node S1 figures in these results: no estimate.';
  const perGateway = Math.floor((BROADCAST_BUDGET_MS * 1000) / cpu / 1000) * 1000;
  const needed = Math.ceil(FRIENDS / perGateway);
  const lines = [
    `- Cost measured: one delivery costs the server ${n(cpu, 2)} µs of CPU (S1, ${n(largest.clients, 0)} clients, median), and an idle subscribed socket ${bytes ? `${n(bytes / 1024, 2)} KB` : 'n/a'} of RSS (S5).` +
      (gw2
        ? ` A gateway in the cluster run above paid ${n(gw2, 2)} µs per delivery (smaller client count, so not directly comparable).`
        : ''),
    `- Assumptions: a gateway is one process on one core (uWebSockets.js is single-threaded); a broadcast must reach all of a gateway's clients within ${BROADCAST_BUDGET_MS} ms of gateway CPU; Catalyst-Bot publishes a few signals per minute, a few per second in a burst, so that budget, not the rate, is the bound; clients spread evenly over the gateways (server.urls in different orders, or the proxy's upstream).`,
    `- Clients per gateway ≈ ${BROADCAST_BUDGET_MS} ms ÷ ${n(cpu, 2)} µs ≈ **${n(perGateway, 0)}** (memory is not the bound: ${bytes ? `${n((perGateway * bytes) / 2 ** 20, 0)} MB of sockets` : 'n/a'}).`,
    `- For ${n(FRIENDS, 0)} friends: ⌈${n(FRIENDS, 0)} ÷ ${n(perGateway, 0)}⌉ = ${needed} gateways, **${needed + 1}** with one spare so that the clients of a dead gateway fit on the others (N+1); each needs a core and ${bytes ? `≈ ${n((perGateway * bytes) / 2 ** 20 + 100, 0)} MB` : 'some memory'}. The failover herd is then ${n(perGateway, 0)} clients resuming at once on ${needed} gateways (≈ ${n(perGateway / needed, 0)} each); S4 measured 1,000 clients resuming at once on one server.`,
    '- Each gateway adds one stream consumer on the nats cluster; at signal rates that is not a bound. Ingest is unchanged by the number of gateways.',
    '- An estimate, not a measurement: this machine cannot hold 100k sockets. Verify on the target hardware with `npm run bench -- --full` on one gateway before sizing.',
  ];
  return lines.join('\n');
}

/** A warning when processes outside the benchmark took CPU during the cluster runs ("other CPU %"). */
function contention(c: ClusterResult): string {
  const other = [...c.ingest.map((x) => x.foreignCpuPct), ...c.fanout.map((x) => x.foreignCpuPct)];
  const worst = other.length ? Math.max(...other) : 0;
  return worst >= 10
    ? ` **Contended:** other processes on this shared 2-core machine used up to ${n(worst, 0)}% of a core during these windows ("other CPU %"), so the figures are floors, not what the machine can do; ratios within one run still compare like with like.`
    : '';
}

export function clusterSection(r: Results): string {
  const c = r.cluster;
  const run = r.clusterRun ?? { mode: r.mode, startedAt: r.startedAt, durationS: r.durationS };
  const parts = ['## Cluster mode (NATS JetStream)\n'];
  parts.push(
    'Method: a real 3-node nats-server JetStream cluster (Debian 2.9) on loopback, one ingest process and two gateways (`serve --role …`), all pinned to CPU 0 as the single-node server is; generators on CPU 1. ' +
      '**Ingest**: the S3 generator (closed loop; one connection = one POST at a time, then many concurrent) against the single-node server, then a cluster whose stream is R1, then R3 (no gateways attached; the server CPU column includes the three nats nodes). ' +
      '**Fan-out**: the same clients and publish rate, all on one gateway, then half on each of two; latency from the intended send time at the ingest node to arrival at the client (ingest, JetStream, gateway replica and WebSocket). ' +
      '**Failover**: clients on gateway A receive a signal; A gets SIGKILL; signals are published right after; each client reconnects to gateway B at once and resumes by seq; the figure is from the kill to the last client having every signal.\n',
  );
  if (!c || c.skipped) {
    parts.push(
      `Not measured${c?.skipped ? `: ${c.skipped}` : ' in this run'}. Run \`npm run bench -- --only cluster\` where \`nats-server\` is installed (Debian: \`apt-get install nats-server\`).\n`,
    );
  } else {
    parts.push(
      `Run: ${run.mode} mode, ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC${run.build ? `, build ${run.build}` : ''}, same machine as above.${contention(c)}\n`,
      '### Ingest: single node vs cluster R1 vs R3\n',
      ingestTable(c),
      '',
      '### Fan-out over 1 and 2 gateways\n',
      c.fanout.length
        ? fanoutTable(c) +
            '\nOn this machine both gateways share CPU 0 with the ingest and the three nats nodes, so spreading the ' +
            'clients adds a process to the same core instead of a core: the 2-gateway row measures the overhead of a ' +
            'second process, not the scale-out. Per-gateway cost (µs/msg) is the figure to plan with (below).\n'
        : 'Not measured.',
      '',
      '### Failover: a gateway dies under its clients\n',
      c.failover.length ? failoverTable(c) : 'Not measured.',
      '',
      '### Targets (issue 13)\n',
      ...targets(c),
      c.notRun?.length ? `\nNot run in this build: ${c.notRun.join('; ')}.` : '',
      c.failures.length
        ? `\nFailed runs: ${c.failures.map((f) => `${f.what}: \`${f.error.split('\n')[0]!.slice(0, 160)}\``).join('; ')}`
        : '',
      '',
    );
  }
  parts.push(
    '### What bounds R3 ingest\n',
    '- A 201 is sent only after JetStream acknowledges the signal at the configured replication: at R3 the stream leader appends it and waits for one of the two followers (a Raft round trip between three processes) before the ack. One POST at a time is therefore one round trip per signal: a bare NATS client measured 0.87–1.15k acks/s one at a time at R3 on this machine (p99 3.2–4.1 ms), against 4.3–5.1k standalone (../shared/notes/jetstream.md §4).',
    '- Concurrent POSTs are pipelined: the cluster sequencer sends up to 64 publishes at once with consecutive expected seqs (each still signed with its own seq, gapless), so acks overlap; a bare client reached 10.1–10.3k acks/s at R3 with 256 in flight.',
    '- Here all three nats nodes, the ingest process and the HTTP work share one core (CPU 0), so these figures are a floor for a real 3-machine cluster, where the round trip is a LAN hop (~0.1–0.5 ms) plus an append (nats-server does not fsync each message by default).',
    '- Catalyst-Bot publishes a few signals per minute; even one-at-a-time R3 ingest is orders of magnitude above it.\n',
    '### Past this machine: gateways for 100k friends (estimate)\n',
    plan(r),
  );
  return parts.join('\n');
}

/** What a smoke run of the cluster scenarios must not show (skipped is fine: no nats-server or no roles). */
export function clusterProblems(r: Results): string[] {
  const c = r.cluster;
  if (!c || c.skipped) return [];
  const p = c.failures.map((f) => `cluster ${f.what}: ${f.error.split('\n')[0]}`);
  for (const x of c.ingest)
    if (x.acks === 0 || x.non2xx || x.errors)
      p.push(
        `cluster ingest ${x.target}/${x.concurrency}: acks ${x.acks} non-2xx ${x.non2xx} errors ${x.errors}`,
      );
  for (const m of c.fanout)
    if (m.drops || m.gaps || m.dups || m.invalid || m.disconnects)
      p.push(
        `cluster fan-out ${m.gateways} gw: drops ${m.drops} gaps ${m.gaps} dups ${m.dups} disconnects ${m.disconnects}`,
      );
  for (const f of c.failover)
    if (f.caughtUp < f.clients || f.gaps || f.dups)
      p.push(`cluster failover: caught up ${f.caughtUp}/${f.clients} gaps ${f.gaps} dups ${f.dups}`);
  return p;
}
