/**
 * Benchmarks, our server beside three peers (issue 6), and cluster mode (issue 13). `npm run bench` = quick,
 * `-- --full`, `-- --smoke`; `-- --only s1,s3,cluster` picks scenarios, `-- --servers catalyst,ws-once` servers;
 * `-- --report <file.json>` only regenerates docs/benchmarks.md from results.
 * The cluster scenarios run when nats-server and the cluster roles are there, and are skipped (with the reason)
 * otherwise. A run of only `cluster` keeps results/latest.json and writes results/cluster-latest.json; the docs
 * show both.
 * Servers run one at a time pinned to CPU 0; generators and this process run on CPU 1.
 * BENCH_PROF_DIR=<dir> makes our single-node server and each cluster ingest process write a V8 CPU profile there
 * (node --cpu-prof).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PROFILES, type Mode } from './config.js';
import { hasTaskset, machine, pinSelf } from './lib/proc.js';
import { ourServerBuilt, pinServersTo } from './lib/servers.js';
import { writeReport } from './report/write.js';
import type { ClusterRecord, Results } from './results.js';
import { runCluster } from './scenarios/cluster.js';
import { runS1 } from './scenarios/s1-latency.js';
import { runS2 } from './scenarios/s2-capacity.js';
import { runS3 } from './scenarios/s3-ingest.js';
import { runS4 } from './scenarios/s4-replay.js';
import { runS5 } from './scenarios/s5-memory.js';
import { setQuietWait } from './scenarios/session.js';

const RESULTS_DIR = new URL('./results/', import.meta.url).pathname;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The docs show the last full set of single-node figures and the last cluster figures, each with its date. */
function forDocs(base: Results | null): Results {
  const r = base ?? (JSON.parse(readFileSync(`${RESULTS_DIR}latest.json`, 'utf8')) as Results);
  const file = `${RESULTS_DIR}cluster-latest.json`;
  if ((r.cluster && !r.cluster.skipped) || !existsSync(file)) return r;
  const c = JSON.parse(readFileSync(file, 'utf8')) as ClusterRecord;
  return {
    ...r,
    cluster: c.cluster,
    clusterRun: { mode: c.mode, startedAt: c.startedAt, durationS: c.durationS, build: c.build },
  };
}

async function main(): Promise<void> {
  const reportOnly = arg('--report');
  if (reportOnly) {
    writeReport(forDocs(JSON.parse(readFileSync(reportOnly, 'utf8')) as Results));
    return;
  }
  const mode: Mode = process.argv.includes('--smoke')
    ? 'smoke'
    : process.argv.includes('--full')
      ? 'full'
      : 'quick';
  const only = arg('--only')?.split(',');
  const want = (s: string) => !only || only.includes(s);
  const profile = structuredClone(PROFILES[mode]);
  const pick = arg('--servers')?.split(',');
  if (pick) profile.servers = profile.servers.filter((s) => pick.includes(s));
  const notes: string[] = [];
  if (!ourServerBuilt()) {
    profile.servers = profile.servers.filter((s) => s !== 'catalyst');
    notes.push('server/dist/cli.js was not built: our server is missing from this run.');
  }
  const pinned = hasTaskset() && pinSelf(1);
  pinServersTo(pinned);
  if (!pinned) notes.push('taskset unavailable: server and generators were not pinned to separate CPUs.');

  const t0 = Date.now();
  const log = (line: string) =>
    console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`);
  let noisy = 0;
  setQuietWait(mode === 'full' ? 30_000 : mode === 'quick' ? 8_000 : 0, (load) => {
    noisy++;
    log(`machine still busy (${load.toFixed(0)}% of a core used by other processes); measuring anyway`);
  });
  log(`mode ${mode}, servers ${profile.servers.join(', ')}, pinned ${pinned}`);
  const results: Results = {
    version: 1,
    mode,
    startedAt: new Date(t0).toISOString(),
    durationS: 0,
    machine: machine(pinned),
    servers: profile.servers,
    notes,
    s1: want('s1') ? await runS1(profile, log) : [],
    s2: want('s2') ? await runS2(profile, log) : null,
    s3: want('s3') ? await runS3(profile, log) : [],
    s4: want('s4') ? await runS4(profile, log) : [],
    s5: want('s5') ? await runS5(profile, log) : null,
    cluster: want('cluster') ? await runCluster(profile, log) : null,
  };
  results.durationS = Math.round((Date.now() - t0) / 1000);
  if (noisy)
    notes.push(
      `${noisy} measurements started while other processes on this shared machine were busy (see "other CPU").`,
    );

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${results.startedAt.replace(/[:.]/g, '-')}-${mode}.json`;
  writeFileSync(file, JSON.stringify(results, null, 1));
  const singleRan = ['s1', 's2', 's3', 's4', 's5'].some(want);
  if (mode !== 'smoke' && singleRan)
    writeFileSync(`${RESULTS_DIR}latest.json`, JSON.stringify(results, null, 1));
  const cluster = results.cluster;
  if (mode !== 'smoke' && cluster && !cluster.skipped) {
    const build =
      process.env['BENCH_BUILD'] ??
      (spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || undefined);
    const record: ClusterRecord = {
      ...(build ? { build } : {}),
      mode,
      startedAt: results.startedAt,
      durationS: results.durationS,
      machine: results.machine,
      cluster,
    };
    writeFileSync(`${RESULTS_DIR}cluster-latest.json`, JSON.stringify(record, null, 1));
  }
  const failed = writeReport(
    mode === 'smoke' ? results : forDocs(singleRan ? results : null),
    mode === 'smoke',
  );
  log(`done in ${results.durationS} s; results ${file}`);
  if (mode === 'smoke' && failed.length) {
    console.error(`smoke FAILED:\n  ${failed.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
