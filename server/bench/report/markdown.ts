/** docs/benchmarks.md from a Results object: a table per scenario, servers side by side, ratios vs ours. */
import { LABELS, type ServerName } from '../lib/servers.js';
import { medianOf, type Spread } from '../lib/stats.js';
import type { Results } from '../results.js';
import type { Target } from './targets.js';
import { clusterSection } from './cluster.js';

const n = (v: number | undefined | null, d = 1) =>
  v === undefined || v === null || !Number.isFinite(v)
    ? 'n/a'
    : v.toLocaleString('en-US', { maximumFractionDigits: d });

/** "median (min–max)" when there was more than one round. */
const sp = (s: Spread | null, d = 1) =>
  !s ? 'n/a' : s.n > 1 ? `${n(s.median, d)} (${n(s.min, d)}–${n(s.max, d)})` : n(s.median, d);

/** peer ÷ ours, "—" for ours. */
function vsOurs(server: ServerName, ours: Spread | null, mine: Spread | null): string {
  if (server === 'catalyst') return '—';
  if (!ours || !mine || ours.median === 0) return 'n/a';
  return `${n(mine.median / ours.median, 2)}×`;
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function failures(list: { server: string; round: number; error: string }[]): string {
  return list.length
    ? `\nFailed runs: ${list.map((f) => `${f.server} round ${f.round + 1}: \`${f.error.split('\n')[0]!.slice(0, 160)}\``).join('; ')}\n`
    : '';
}

function targetsSection(targets: Target[]): string {
  const rows = targets.map((t) => [
    t.text,
    t.where,
    `${n(t.ours, 2)} ${t.unit}`,
    `${n(t.peer, 2)} ${t.unit} (${t.peerName})`,
    t.ratio === null ? 'n/a' : `${n(t.ratio, 3)} (need ${t.required})`,
    t.pass === null ? 'not measured' : t.pass ? '**pass**' : '**FAIL**',
  ]);
  return `## Targets\n\n${table(['target', 'measured at', 'ours', 'peer', 'ours ÷ peer', 'result'], rows)}\n`;
}

function s1Section(r: Results): string {
  if (!r.s1.length) return '';
  const parts = [
    '## S1: fan-out latency at a fixed delivery rate\n',
    "Latency = arrival at the subscriber − the publish's *intended* send time (open loop), every frame of every client. " +
      '"last" = time until the last subscriber had a broadcast. "ratio" columns are peer ÷ ours (above 1: ours is lower). ' +
      'Values: median over rounds (min–max); when a server has rounds without outside CPU load (< 10% of a core), only those count.\n',
  ];
  for (const row of r.s1) {
    const ours = (pick: (x: (typeof row.runs)[number]) => number) => medianOf(row.runs, 'catalyst', pick);
    const rows = r.servers.map((s) => {
      const m = (pick: (x: (typeof row.runs)[number]) => number) => medianOf(row.runs, s, pick);
      const runs = row.runs.filter((x) => x.server === s);
      const bad = runs.reduce((a, x) => a + x.drops + x.gaps + x.dups + x.invalid, 0);
      return [
        LABELS[s],
        sp(
          m((x) => x.latency.p50),
          2,
        ),
        sp(
          m((x) => x.latency.p99),
          2,
        ),
        n(m((x) => x.latency.p999)?.median, 2),
        n(m((x) => x.latency.max)?.median, 1),
        n(m((x) => x.timeToLast.p99)?.median, 2),
        sp(
          m((x) => x.serverCpuUsPerDelivery),
          2,
        ),
        n(m((x) => x.deliveryPct)?.median, 3),
        runs.length ? String(bad) : 'n/a',
        runs.some((x) => x.genBound) ? 'yes' : 'no',
        vsOurs(
          s,
          ours((x) => x.latency.p99),
          m((x) => x.latency.p99),
        ),
        vsOurs(
          s,
          ours((x) => x.serverCpuUsPerDelivery),
          m((x) => x.serverCpuUsPerDelivery),
        ),
      ];
    });
    parts.push(
      `### ${n(row.clients, 0)} clients, ${n(row.deliveriesPerS, 0)} deliveries/s (${n(row.deliveriesPerS / row.clients, 1)} publishes/s)\n`,
      table(
        [
          'server',
          'p50 ms',
          'p99 ms',
          'p99.9 ms',
          'max ms',
          'last p99 ms',
          'server CPU µs/msg',
          'delivered %',
          'drops+gaps+dups',
          'gen-bound',
          'p99 ratio',
          'CPU ratio',
        ],
        rows,
      ),
      failures(row.failures),
    );
  }
  return parts.join('\n');
}

function s2Section(r: Results): string {
  const s2 = r.s2;
  if (!s2) return '';
  const ours = medianOf(s2.runs, 'catalyst', (x) => x.maxSustained);
  const rows = r.servers.map((s) => {
    const runs = s2.runs.filter((x) => x.server === s);
    const m = medianOf(s2.runs, s, (x) => x.maxSustained);
    const last = runs[0]?.steps.filter((x) => x.pass).at(-1);
    const passed = runs.some((x) => x.steps.some((st) => st.pass));
    return [
      LABELS[s],
      runs.length && !passed ? 'no step passed' : sp(m, 0),
      last ? `${n(last.latency.p99, 1)} / ${n(last.serverCpuUsPerDelivery, 2)}` : 'n/a',
      runs.map((x) => x.stoppedBy).join('; ') || 'n/a',
      runs.some((x) => x.genBound) ? 'yes' : 'no',
      s === 'catalyst' ? '—' : ours && m && m.median ? `${n(ours.median / m.median, 2)}×` : 'n/a',
    ];
  });
  return [
    `## S2: capacity at ${n(s2.clients, 0)} clients\n`,
    `Delivery rate raised step by step until p99 > ${s2.p99LimitMs} ms or delivery < 100%. "ours ÷ peer" above 1: ours delivers more.\n`,
    table(
      [
        'server',
        'max sustained delivered msg/s',
        'at that step: p99 ms / CPU µs per msg',
        'stopped by',
        'gen-bound',
        'ours ÷ peer',
      ],
      rows,
    ),
    failures(s2.failures),
  ].join('\n');
}

function s3Section(r: Results): string {
  if (!r.s3.length) return '';
  const parts = [
    '## S3: ingest\n',
    'Closed-loop single-signal POSTs over keep-alive connections; a signal counts once acknowledged (201). "ours ÷ peer" above 1: ours persists more.\n',
  ];
  for (const row of r.s3) {
    const ours = medianOf(row.runs, 'catalyst', (x) => x.persistedPerS);
    const names: ServerName[] = row.runs.some((x) => x.server === 'catalyst-unsigned')
      ? [...r.servers, 'catalyst-unsigned']
      : r.servers;
    const rows = names.map((s) => {
      const m = (pick: (x: (typeof row.runs)[number]) => number) => medianOf(row.runs, s, pick);
      const runs = row.runs.filter((x) => x.server === s);
      const mine = m((x) => x.persistedPerS);
      return [
        LABELS[s],
        sp(mine, 0),
        n(m((x) => x.ack.p50)?.median, 2),
        n(m((x) => x.ack.p99)?.median, 2),
        runs.length ? String(runs.reduce((a, x) => a + x.non2xx + x.errors, 0)) : 'n/a',
        row.subscribers ? n(m((x) => x.subscriberDeliveryPct ?? NaN)?.median, 2) : '—',
        runs.some((x) => x.genBound) ? 'yes' : 'no',
        s === 'catalyst' ? '—' : ours && mine && mine.median ? `${n(ours.median / mine.median, 2)}×` : 'n/a',
      ];
    });
    parts.push(
      `### synchronous=${row.sync.toUpperCase()}, ${n(row.subscribers, 0)} subscribers, ${row.concurrency} connections\n`,
      table(
        [
          'server',
          'persisted signals/s',
          'ack p50 ms',
          'ack p99 ms',
          'errors',
          'subscribers got %',
          'gen-bound',
          'ours ÷ peer',
        ],
        rows,
      ),
      failures(row.failures),
    );
    const cp = names
      .filter((s) => row.runs.some((x) => x.server === s && x.checkpoint))
      .map((s) => {
        const m = (pick: (x: (typeof row.runs)[number]) => number) => medianOf(row.runs, s, pick);
        return `${LABELS[s]}: p50 ${n(m((x) => x.checkpoint?.p50 ?? NaN)?.median, 0)} ms, p99 ${n(m((x) => x.checkpoint?.p99 ?? NaN)?.median, 0)} ms`;
      });
    if (cp.length)
      parts.push(
        `Checkpoint latency (a POST, then the \`checkpoint\` frame whose tree covers it; sequential probes after the window, randomly spaced over the 500 ms checkpoint interval): ${cp.join('; ')}.\n`,
      );
  }
  return parts.join('\n');
}

function s4Section(r: Results): string {
  if (!r.s4.length) return '';
  const rows = r.s4.map((x) => [
    LABELS[x.server],
    x.recovery,
    x.single
      ? `${n(x.single.missed, 0)} in ${n(x.single.ms, 0)} ms = ${n(x.single.signalsPerS, 0)}/s${x.single.caughtUp < 1 ? ' (not caught up)' : ''}`
      : 'n/a',
    x.many
      ? `${n(x.many.caughtUp, 0)}/${n(x.many.clients, 0)} caught up in ${n(x.many.ms, 0)} ms (${n(x.many.signalsPerS, 0)} signals/s)`
      : 'n/a',
    x.single || x.many
      ? `${(x.single?.gaps ?? 0) + (x.many?.gaps ?? 0)} / ${(x.single?.dups ?? 0) + (x.many?.dups ?? 0)}`
      : 'n/a',
    x.error
      ? `failed: \`${x.error.split('\n')[0]!.slice(0, 120)}\``
      : ([...(x.single?.errors ?? []), ...(x.many?.errors ?? [])][0] ?? ''),
  ]);
  const cfg = r.s4.find((x) => x.many)?.many;
  return [
    '## S4: catching up after a disconnect\n',
    `Clients receive one signal, lose their sockets (no close frame), miss a backlog, then all reconnect at once and resume.${cfg ? ` Second case: ${cfg.clients} clients × ${cfg.missed} missed.` : ''}\n`,
    table(
      [
        'server',
        'recovery',
        'one client catching up',
        'many clients resuming at once',
        'gaps / dups',
        'notes',
      ],
      rows,
    ),
  ].join('\n');
}

function s5Section(r: Results): string {
  const s5 = r.s5;
  if (!s5) return '';
  const ours = medianOf(s5.runs, 'catalyst', (x) => x.bytesPerConnection);
  const rows = r.servers.map((s) => {
    const m = medianOf(s5.runs, s, (x) => x.bytesPerConnection);
    const run = s5.runs.find((x) => x.server === s);
    return [
      LABELS[s],
      m ? sp({ ...m, median: m.median / 1024, min: m.min / 1024, max: m.max / 1024 }, 2) : 'n/a',
      run ? `${n(run.rssBefore / 2 ** 20, 1)} → ${n(run.rssAfter / 2 ** 20, 1)}` : 'n/a',
      run ? (run.gc ? 'yes' : 'no (no hook; plain RSS delta)') : 'n/a',
      vsOurs(s, ours, m),
    ];
  });
  return [
    `## S5: memory per idle subscribed connection (${n(s5.clients, 0)} connections)\n`,
    table(['server', 'KB per connection', 'RSS MB before → after', 'after gc', 'peer ÷ ours'], rows),
    failures(s5.failures),
  ].join('\n');
}

function limitsSection(r: Results): string {
  const bound: string[] = [];
  for (const row of r.s1)
    for (const x of row.runs)
      if (x.genBound)
        bound.push(`S1 ${row.clients} clients ${x.server} r${x.round + 1} (${n(x.genCpuPct, 0)}%)`);
  for (const x of r.s2?.runs ?? []) if (x.genBound) bound.push(`S2 ${x.server} (best passing step)`);
  for (const row of r.s3)
    for (const x of row.runs)
      if (x.genBound) bound.push(`S3 ${row.sync}/${row.subscribers} ${x.server} (${n(x.genCpuPct, 0)}%)`);
  const busy: string[] = [];
  for (const row of r.s1)
    for (const x of row.runs)
      if (x.foreignCpuPct >= 10)
        busy.push(`S1 ${row.clients} ${x.server} r${x.round + 1} (${n(x.foreignCpuPct, 0)}%)`);
  for (const x of r.s2?.runs ?? [])
    for (const st of x.steps)
      if (st.foreignCpuPct >= 10)
        busy.push(
          `S2 ${x.server} ${n(st.targetDeliveriesPerS / 1000, 0)}k step (${n(st.foreignCpuPct, 0)}%)`,
        );
  for (const row of r.s3)
    for (const x of row.runs)
      if (x.foreignCpuPct >= 10)
        busy.push(`S3 ${row.sync}/${row.subscribers} ${x.server} (${n(x.foreignCpuPct, 0)}%)`);
  const lines = [
    '## What limits these figures\n',
    `- This machine is shared: CPU used by processes outside the benchmark (builds, tests) is measured from /proc/stat during every window. ${busy.length ? `Runs with ≥ 10% of a core of such load (treat with care): ${busy.join('; ')}.` : 'No window saw ≥ 10% of a core of outside load.'}`,
    `- Load generator CPU (on its own core, including this orchestrator) at or above 90% marks a result generator-bound: the server may have more. ${bound.length ? `Generator-bound here: ${bound.join('; ')}.` : 'No result here was generator-bound.'}`,
    '- Latency at 1,000+ clients has a floor set by the generator: one core reads every socket in turn (≈10 µs per socket read), so a broadcast to N clients takes ≈N × 10 µs to be read. Equal p50s across servers at 1,000 clients are that floor; server CPU per message and S2 separate the servers better.',
    '- Server CPU comes from /proc/<pid>/stat (10 ms ticks) over the window plus its drain; it includes the HTTP ingest of the publishes.',
    "- Our server signs every signal (`sig`), so its frames are larger than the peers'.",
    ...r.notes.map((x) => `- ${x}`),
  ];
  return lines.join('\n');
}

export function renderMarkdown(r: Results, targets: Target[], chartFile: string): string {
  const m = r.machine;
  return [
    '# Benchmarks: our server beside three peers',
    '',
    `<!-- generated by server/bench/run.ts from server/bench/results/latest.json; do not edit by hand -->`,
    '',
    `Mode **${r.mode}** (\`npm run bench\`${r.mode === 'full' ? ' -- --full' : ''}), ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${r.durationS} s. ` +
      `Machine: ${m.nproc} × ${m.model}, Node ${m.node}, Linux ${m.kernel}; ` +
      (m.pinned
        ? 'server pinned to CPU 0, load generators and publisher to CPU 1 (taskset).'
        : 'not pinned.'),
    '',
    `Peers (server/bench/peers/): **ws naive** (node http + ws, one SQLite insert per POST, JSON.stringify + send per client), ` +
      `**ws serialise-once** (same, one Buffer per broadcast), **Socket.IO 4** with connectionStateRecovery, websocket transport only. ` +
      `All validate the classification with the shared zod schema, store it (better-sqlite3, WAL) and deliver ` +
      `\`{"type":"signal","signal":{...,"seq","epoch","ingested_at"}}\`. Servers never run at the same time; rounds alternate (A B C D, D C B A).`,
    '',
    `![latency, CPU and throughput](${chartFile})`,
    '',
    r.mode !== 'full'
      ? `> ${r.mode} mode: smaller client counts and shorter windows than the issue's; run \`npm run bench -- --full\` for 1k/5k/10k.\n`
      : '',
    ...[
      targetsSection(targets),
      s1Section(r),
      s2Section(r),
      s3Section(r),
      s4Section(r),
      s5Section(r),
      clusterSection(r),
    ].map((x) => (x ? `${x}\n` : '')),
    limitsSection(r),
    '',
  ].join('\n');
}
