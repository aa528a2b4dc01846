/**
 * The fan-out measurement S1 and S2 share: connect subscribers, publish open-loop at a fixed rate, drain,
 * then merge what every generator saw into latency, time-to-last-subscriber, delivery and CPU figures.
 */
import { mergeHistograms, newHistogram, summarise, type LatencySummary } from '../gen/histogram.js';
import type { ConnectResult, CountResult, WindowReport } from '../gen/protocol.js';
import { nowUs } from '../gen/protocol.js';
import { gensFor, type Gen } from '../lib/gen-pool.js';
import { sleep, type Publisher } from '../lib/publisher.js';
import { machineBusyUs } from '../lib/proc.js';
import type { RunningServer } from '../lib/servers.js';

export const GEN_BOUND_PCT = 90;
/** CPU used by processes that are not part of the benchmark (builds, tests) above this marks a run contended. */
export const FOREIGN_PCT = 10;

export interface FanoutMetrics {
  clients: number;
  pubRate: number;
  targetDeliveriesPerS: number;
  published: number;
  failedPublishes: number;
  expected: number;
  delivered: number;
  deliveryPct: number;
  deliveredPerS: number;
  drops: number;
  gaps: number;
  dups: number;
  invalid: number;
  disconnects: number;
  latency: LatencySummary;
  timeToLast: LatencySummary;
  serverCpuUsPerDelivery: number;
  serverCpuPct: number;
  genCpuPct: number;
  genBound: boolean;
  /** CPU (% of one core) used during the window by processes outside the benchmark. */
  foreignCpuPct: number;
  pubMaxLagMs: number;
  errors: string[];
}

/** Spread `clients` over generator processes; throws if any client failed to subscribe. */
export async function connectClients(
  server: RunningServer,
  clients: number,
  perGen: number,
  sampleEvery: number,
): Promise<Gen[]> {
  const gens = gensFor(clients, perGen);
  const per = Math.ceil(clients / gens.length);
  const results = await Promise.all(
    gens.map((g, i) =>
      g.call<ConnectResult>({
        op: 'connect',
        spec: {
          kind: server.kind,
          port: server.port,
          count: Math.min(per, clients - i * per),
          firstIndex: i * per,
          token: server.readToken,
          sampleEvery,
        },
      }),
    ),
  );
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) {
    await Promise.all(gens.map((g) => g.close()));
    throw new Error(
      `${failed}/${clients} clients failed to subscribe: ${results.find((r) => r.firstError)?.firstError}`,
    );
  }
  return gens;
}

export async function totalDelivered(gens: Gen[]): Promise<number> {
  const counts = await Promise.all(gens.map((g) => g.call<CountResult>({ op: 'count' })));
  return counts.reduce((a, c) => a + c.delivered, 0);
}

/** One measured window at `pubRate` signals/s. */
export async function fanoutWindow(
  server: RunningServer,
  gens: Gen[],
  clients: number,
  pub: Publisher,
  pubRate: number,
  durationMs: number,
  drainMs: number,
): Promise<FanoutMetrics> {
  const fromSeq = pub.head + 1;
  await Promise.all(gens.map((g) => g.call({ op: 'window', fromSeq })));
  const cpu0 = server.cpuUs();
  const busy0 = machineBusyUs();
  const self0 = process.cpuUsage();
  const wall0 = nowUs();
  const sent = await pub.openLoop(pubRate, durationMs);
  const expected = sent.ok * clients;
  const drainEnd = Date.now() + drainMs;
  while (Date.now() < drainEnd && (await totalDelivered(gens)) < expected) await sleep(50);
  const serverCpu = server.cpuUs() - cpu0;
  const busy = machineBusyUs() - busy0;
  const wallUs = nowUs() - wall0;
  const self = process.cpuUsage(self0);
  const reports = await Promise.all(gens.map((g) => g.call<WindowReport>({ op: 'report' })));
  const sum = (f: (r: WindowReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const delivered = sum((r) => r.delivered);

  // Time to the last subscriber: only broadcasts every client received.
  const ttl = newHistogram();
  let lastArrival = 0;
  for (const [seq, intended] of sent.intended) {
    let count = 0;
    let last = 0;
    for (const r of reports) {
      const idx = seq - r.fromSeq;
      count += r.countAt[idx] ?? 0;
      last = Math.max(last, r.lastAt[idx] ?? 0);
    }
    lastArrival = Math.max(lastArrival, last);
    if (count === clients) ttl.recordValue(Math.max(1, last - intended));
  }
  const spanS = Math.max(durationMs / 1000, (lastArrival - sent.startUs) / 1e6);
  const genCpu = sum((r) => r.cpuUs) + self.user + self.system;
  const genCpuPct = (genCpu / wallUs) * 100;
  return {
    clients,
    pubRate,
    targetDeliveriesPerS: pubRate * clients,
    published: sent.ok,
    failedPublishes: sent.failed,
    expected,
    delivered,
    deliveryPct: expected ? (delivered / expected) * 100 : 0,
    deliveredPerS: delivered / spanS,
    drops: Math.max(0, expected - delivered),
    gaps: sum((r) => r.gaps),
    dups: sum((r) => r.dups),
    invalid: sum((r) => r.invalidFrames),
    disconnects: sum((r) => r.disconnects),
    latency: summarise(mergeHistograms(reports.map((r) => r.latency))),
    timeToLast: summarise(ttl),
    serverCpuUsPerDelivery: delivered ? serverCpu / delivered : 0,
    serverCpuPct: (serverCpu / wallUs) * 100,
    genCpuPct,
    genBound: genCpuPct >= GEN_BOUND_PCT,
    foreignCpuPct: Math.max(0, ((busy - serverCpu - genCpu) / wallUs) * 100),
    pubMaxLagMs: sent.maxLagMs,
    errors: [
      ...(sent.firstError ? [`publish: ${sent.firstError}`] : []),
      ...reports.flatMap((r) => r.errors),
    ].slice(0, 5),
  };
}
