/**
 * Cluster mode (issue 13), in one run so the ratios compare like with like:
 * - ingest: acked signals/s and 201 latency, single node vs cluster R1 vs R3: closed loop with one publisher
 *   connection (one POST at a time) and many (capacity), then open loop at fixed offered rates (does it
 *   sustain R/s, and at what latency from the intended send time);
 * - fan-out: the same clients and rate on 1 gateway, then spread over 2;
 * - failover: clients on gateway A, A is SIGKILLed, signals keep coming: time from the kill until the last
 *   client (reconnected to gateway B, resumed by seq) has them all.
 * Skipped, with the reason, without nats-server or without the ingest/gateway roles.
 */
import type { Profile } from '../config.js';
import { mergeHistograms, summarise, type LatencySummary } from '../gen/histogram.js';
import {
  nowUs,
  type CountResult,
  type FailoverResult,
  type IngestResult,
  type OpenIngestResult,
  type WindowReport,
} from '../gen/protocol.js';
import { clusterUnavailable, startCluster, type ClusterUnderTest } from '../lib/cluster.js';
import { closeAll, Gen } from '../lib/gen-pool.js';
import { machineBusyUs } from '../lib/proc.js';
import { Publisher, sleep } from '../lib/publisher.js';
import type { RunningServer } from '../lib/servers.js';
import { connectClients, fanoutWindow, GEN_BOUND_PCT, type FanoutMetrics } from './fanout.js';
import { awaitQuiet, fmt, withSession, type Log } from './session.js';

/** R3split: R3 with the nats nodes on CPU 1 (beside the generators) and the ingest process alone on CPU 0. */
export type IngestTarget = 'single' | 'R1' | 'R3' | 'R3split';
export const TARGETS: IngestTarget[] = ['single', 'R1', 'R3', 'R3split'];

/** What an open-loop row adds: the offered rate and what the generator could not send on time. */
export type OpenLoopStats = Pick<
  OpenIngestResult,
  | 'offeredPerS'
  | 'scheduled'
  | 'sent'
  | 'late'
  | 'unsent'
  | 'unanswered'
  | 'queueMax'
  | 'inFlightMax'
  | 'sendLagMaxMs'
>;

export interface ClusterIngestRun {
  target: IngestTarget;
  /** Closed loop: connections, one POST at a time each. Open loop: connections in the pool. */
  concurrency: number;
  /** Set on open-loop rows (fixed offered rate, latency from the intended send time); absent: closed loop. */
  open?: OpenLoopStats;
  round: number;
  ackedPerS: number;
  acks: number;
  non2xx: number;
  errors: number;
  ack: LatencySummary;
  /** Every server process of the target (cluster: 3 nats nodes + ingest), % of one core. */
  serverCpuPct: number;
  /** The same CPU per acked signal, µs (absent in results written before it existed). */
  serverCpuUsPerAck?: number;
  genCpuPct: number;
  genBound: boolean;
  foreignCpuPct: number;
}
export type ClusterFanoutRun = FanoutMetrics & { gateways: number; round: number };
export interface FailoverRun {
  round: number;
  clients: number;
  missed: number;
  /** SIGKILL of gateway A → the last client has every signal published after it (on gateway B). */
  ms: number;
  caughtUp: number;
  failovers: number;
  gaps: number;
  dups: number;
  unrecovered: number;
  errors: string[];
}
export interface ClusterResult {
  /** Why nothing ran (no nats-server, no roles), or null. */
  skipped: string | null;
  ingest: ClusterIngestRun[];
  fanout: ClusterFanoutRun[];
  failover: FailoverRun[];
  failures: { what: string; error: string }[];
  /** Parts not run because this build lacks a role (e.g. the gateway): not failures, said in the docs. */
  notRun?: string[];
}

/** `serve --role X` exists but X is not wired in this build (the CLI says so): skip that part. */
const MISSING_ROLE = /is not in this build/;
function failed(out: ClusterResult, what: string, err: unknown, log: Log): void {
  const msg = String(err);
  if (MISSING_ROLE.test(msg)) {
    const line = /--role \w+ is not in this build[^\n]*/.exec(msg)?.[0] ?? msg.split('\n')[0]!;
    (out.notRun ??= []).push(`${what}: ${line}`);
    log(`cluster ${what} not run: ${line}`);
    return;
  }
  out.failures.push({ what, error: msg });
  log(`cluster ${what} FAILED: ${msg.slice(0, 300)}`);
}

let tags = 0;
const tag = () => `c${process.pid}-${tags++}`;

/** One generator, one load (closed or open loop); the server CPU and outside load over its window. */
async function measureIngest(
  serverCpu: () => number,
  load: (gen: Gen) => Promise<IngestResult>,
): Promise<{ r: IngestResult; m: Omit<ClusterIngestRun, 'target' | 'round' | 'concurrency'> }> {
  const gen = new Gen();
  try {
    await gen.call({ op: 'count' }); // loaded, so its start-up is not measured
    const cpu0 = serverCpu();
    const busy0 = machineBusyUs();
    const self0 = process.cpuUsage();
    const t0 = Date.now();
    const r = await load(gen);
    // The whole call (an open loop opens its connections and drains after its window): CPU over that span.
    const wallUs = Math.max(r.elapsedMs, Date.now() - t0) * 1000;
    const server = serverCpu() - cpu0;
    const self = process.cpuUsage(self0);
    const genCpu = r.cpuUs + self.user + self.system;
    return {
      r,
      m: {
        ackedPerS: r.acks / (r.elapsedMs / 1000),
        acks: r.acks,
        non2xx: r.non2xx + r.duplicates,
        errors: r.errors,
        ack: summarise(mergeHistograms([r.latency])),
        serverCpuPct: (server / wallUs) * 100,
        serverCpuUsPerAck: r.acks ? server / r.acks : NaN,
        genCpuPct: (genCpu / wallUs) * 100,
        genBound: (genCpu / wallUs) * 100 >= GEN_BOUND_PCT,
        foreignCpuPct: Math.max(0, ((machineBusyUs() - busy0 - server - genCpu) / wallUs) * 100),
      },
    };
  } finally {
    await gen.close();
  }
}

const closedLoop =
  (port: number, token: string | undefined, concurrency: number, durationMs: number) => (gen: Gen) =>
    gen.call<IngestResult>({
      op: 'ingest',
      spec: { port, token, concurrency, durationMs, firstIndex: 0, tag: tag() },
    });

/** Local queue bound of the open loop: 10 s of the offered rate, at least 1,000 POSTs. */
const openQueue = (rate: number) => Math.max(1000, rate * 10);

const openLoop =
  (port: number, token: string | undefined, rate: number, connections: number, durationMs: number) =>
  (gen: Gen) =>
    gen.call<OpenIngestResult>({
      op: 'ingestOpen',
      spec: {
        port,
        token,
        rate,
        connections,
        durationMs,
        maxQueue: openQueue(rate),
        drainMs: 10_000,
        firstIndex: 0,
        tag: tag(),
      },
    });

/** A cluster, always stopped afterwards. */
async function withCluster<T>(
  replicas: 1 | 3,
  gateways: number,
  fn: (c: ClusterUnderTest) => Promise<T>,
  natsCpu: 0 | 1 = 0,
) {
  await awaitQuiet();
  const c = await startCluster(replicas, gateways, { natsCpu });
  try {
    return await fn(c);
  } finally {
    await c.stop();
  }
}

async function ingestRuns(p: Profile, out: ClusterResult, log: Log): Promise<void> {
  const cfg = p.cluster!.ingest;
  for (let round = 0; round < cfg.rounds; round++) {
    for (const target of round % 2 ? [...TARGETS].reverse() : TARGETS) {
      try {
        const runs = async (port: number, token: string | undefined, cpu: () => number) => {
          for (const concurrency of cfg.concurrency) {
            const { m } = await measureIngest(cpu, closedLoop(port, token, concurrency, cfg.durationMs));
            out.ingest.push({ target, round, concurrency, ...m });
            log(
              `cluster ingest ${target.padEnd(7)} ${String(concurrency).padStart(3)} conn r${round + 1}: ` +
                `${fmt(m.ackedPerS, 0)} acked/s, 201 p50 ${fmt(m.ack.p50, 2)} p99 ${fmt(m.ack.p99, 2)} ms, ` +
                `non-2xx ${m.non2xx} errors ${m.errors}, servers ${fmt(m.serverCpuPct, 0)}% ` +
                `(${fmt(m.serverCpuUsPerAck ?? NaN, 0)} µs/ack) gen ${fmt(m.genCpuPct, 0)}%`,
            );
          }
          // After the closed loop, so the process is warm; its signals are already in the log.
          for (const rate of cfg.openRates) {
            const conns = cfg.openConnections;
            const { r, m } = await measureIngest(cpu, openLoop(port, token, rate, conns, cfg.durationMs));
            const o = r as OpenIngestResult;
            const open: OpenLoopStats = {
              offeredPerS: o.offeredPerS,
              scheduled: o.scheduled,
              sent: o.sent,
              late: o.late,
              unsent: o.unsent,
              unanswered: o.unanswered,
              queueMax: o.queueMax,
              inFlightMax: o.inFlightMax,
              sendLagMaxMs: o.sendLagMaxMs,
            };
            out.ingest.push({ target, round, concurrency: o.connections, open, ...m });
            log(
              `cluster ingest ${target.padEnd(7)} open ${fmt(rate, 0)}/s r${round + 1}: ${fmt(m.ackedPerS, 0)} acked/s, ` +
                `201 p50 ${fmt(m.ack.p50, 2)} p99 ${fmt(m.ack.p99, 2)} max ${fmt(m.ack.max, 2)} ms (from intended send), ` +
                `non-2xx ${m.non2xx} errors ${m.errors} unanswered ${o.unanswered}, late ${o.late} unsent ${o.unsent} ` +
                `queue max ${o.queueMax} in flight max ${o.inFlightMax}/${o.connections}, ` +
                `servers ${fmt(m.serverCpuPct, 0)}% (${fmt(m.serverCpuUsPerAck ?? NaN, 0)} µs/ack) gen ${fmt(m.genCpuPct, 0)}%`,
            );
          }
        };
        if (target === 'single')
          await withSession('catalyst', 'normal', (s) =>
            runs(s.server.port, s.server.publishToken, () => s.server.cpuUs()),
          );
        else
          await withCluster(
            target === 'R1' ? 1 : 3,
            0,
            (c) => runs(c.ingest.port, c.ingest.publishToken, () => c.cpuUs()),
            target === 'R3split' ? 1 : 0,
          );
      } catch (err) {
        failed(out, `ingest ${target} r${round + 1}`, err, log);
      }
    }
  }
}

/** Gateways' CPU only: the per-gateway cost of fan-out (the ingest and nats nodes are not in it). */
function gatewaysAsOne(gws: RunningServer[]): RunningServer {
  return { ...gws[0]!, cpuUs: () => gws.reduce((a, g) => a + g.cpuUs(), 0) };
}

async function fanoutRuns(p: Profile, out: ClusterResult, log: Log): Promise<void> {
  const cfg = p.cluster!.fanout;
  const pubRate = cfg.deliveriesPerS / cfg.clients;
  for (const spread of [1, 2]) {
    let gens: Gen[] = [];
    try {
      const m = await withCluster(3, 2, async (c) => {
        const on = c.gateways.slice(0, spread);
        const per = Math.ceil(cfg.clients / spread);
        for (const [i, gw] of on.entries()) {
          const n = Math.min(per, cfg.clients - i * per);
          gens.push(...(await connectClients(gw, n, p.perGen, p.sampleEvery)));
        }
        const pub = new Publisher(c.ingest.port, c.ingest.publishToken, tag());
        try {
          await pub.openLoop(pubRate, cfg.warmupMs);
          await sleep(200);
          return await fanoutWindow(
            gatewaysAsOne(on),
            gens,
            cfg.clients,
            pub,
            pubRate,
            cfg.durationMs,
            cfg.drainMs,
          );
        } finally {
          pub.close();
          await closeAll(gens);
          gens = [];
        }
      });
      out.fanout.push({ ...m, gateways: spread, round: 0 });
      log(
        `cluster fan-out ${cfg.clients}c on ${spread} gateway(s): p50 ${fmt(m.latency.p50, 2)} p99 ${fmt(m.latency.p99, 2)} ms, ` +
          `last p99 ${fmt(m.timeToLast.p99, 2)} ms, gateway CPU ${fmt(m.serverCpuUsPerDelivery, 2)} µs/msg, ` +
          `delivered ${fmt(m.deliveryPct, 2)}%${m.drops || m.gaps || m.dups ? ` drops ${m.drops} gaps ${m.gaps} dups ${m.dups}` : ''}` +
          `${m.errors.length ? ` ! ${m.errors[0]}` : ''}`,
      );
    } catch (err) {
      await closeAll(gens);
      failed(out, `fan-out on ${spread} gateway(s)`, err, log);
      if (MISSING_ROLE.test(String(err))) return;
    }
  }
}

async function lowestSeq(gens: Gen[]): Promise<number> {
  const counts = await Promise.all(gens.map((g) => g.call<CountResult>({ op: 'count' })));
  return Math.min(...counts.map((c) => c.lastSeqMin));
}

async function failoverRound(p: Profile, round: number, c: ClusterUnderTest): Promise<FailoverRun> {
  const cfg = p.cluster!.failover;
  const [a, b] = c.gateways;
  const gens = await connectClients(a!, cfg.clients, p.perGen, p.sampleEvery);
  const pub = new Publisher(c.ingest.port, c.ingest.publishToken, tag());
  try {
    const first = await pub.backlog(1, 1);
    const seen = Date.now() + 10_000;
    while ((await lowestSeq(gens)) < first) {
      if (Date.now() > seen) throw new Error(`clients did not get seq ${first} within 10 s`);
      await sleep(20);
    }
    await Promise.all(gens.map((g) => g.call({ op: 'window', fromSeq: first + 1 })));
    await Promise.all(gens.map((g) => g.call({ op: 'armFailover', port: b!.port })));
    const killAt = nowUs();
    await a!.kill();
    const head = await pub.backlog(cfg.missed, 50);
    const results = await Promise.all(
      gens.map((g) => g.call<FailoverResult>({ op: 'awaitHead', headSeq: head, timeoutMs: cfg.timeoutMs })),
    );
    const reports = await Promise.all(gens.map((g) => g.call<WindowReport>({ op: 'report' })));
    const caughtUp = results.reduce((x, r) => x + r.caughtUp, 0);
    return {
      round,
      clients: cfg.clients,
      missed: cfg.missed,
      ms: caughtUp === cfg.clients ? (Math.max(...results.map((r) => r.lastAt)) - killAt) / 1000 : NaN,
      caughtUp,
      failovers: results.reduce((x, r) => x + r.failovers, 0),
      gaps: reports.reduce((x, r) => x + r.gaps, 0),
      dups: reports.reduce((x, r) => x + r.dups, 0),
      unrecovered: results.reduce((x, r) => x + r.unrecovered, 0),
      errors: reports.flatMap((r) => r.errors).slice(0, 3),
    };
  } finally {
    pub.close();
    await closeAll(gens);
  }
}

async function failoverRuns(p: Profile, out: ClusterResult, log: Log): Promise<void> {
  const cfg = p.cluster!.failover;
  for (let round = 0; round < cfg.rounds; round++) {
    try {
      const f = await withCluster(3, 2, (c) => failoverRound(p, round, c));
      out.failover.push(f);
      log(
        `cluster failover r${round + 1}: ${f.caughtUp}/${f.clients} clients caught up on the other gateway ` +
          `${fmt(f.ms, 0)} ms after the kill (${f.missed} signals published after it), gaps ${f.gaps} dups ${f.dups}` +
          `${f.errors.length ? ` ! ${f.errors[0]}` : ''}`,
      );
    } catch (err) {
      failed(out, `failover r${round + 1}`, err, log);
      if (MISSING_ROLE.test(String(err))) return;
    }
  }
}

export async function runCluster(p: Profile, log: Log): Promise<ClusterResult | null> {
  if (!p.cluster) return null;
  const out: ClusterResult = {
    skipped: await clusterUnavailable(),
    ingest: [],
    fanout: [],
    failover: [],
    failures: [],
  };
  if (out.skipped) {
    log(`cluster scenarios skipped: ${out.skipped}`);
    return out;
  }
  await ingestRuns(p, out, log);
  await fanoutRuns(p, out, log);
  await failoverRuns(p, out, log);
  return out;
}
