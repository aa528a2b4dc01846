/**
 * S3: ingest. Closed-loop single-signal POSTs from concurrent keep-alive connections (a separate generator
 * process), synchronous=NORMAL and FULL, with and without subscribers: signals persisted/s and ack latency.
 * Under NORMAL without subscribers, ours also runs with per-signal signatures off (`catalyst-unsigned`, issue
 * 24), in the same rounds with the same generator; after each of our runs, POST -> checkpoint latency.
 */
import { roundOrder, type Profile } from '../config.js';
import { mergeHistograms, summarise, type LatencySummary } from '../gen/histogram.js';
import type { IngestResult, WindowReport } from '../gen/protocol.js';
import { Gen } from '../lib/gen-pool.js';
import { sleep } from '../lib/publisher.js';
import { checkpointLatency } from '../lib/checkpoint-probe.js';
import { isOurs, type ServerName, type Sync } from '../lib/servers.js';
import { machineBusyUs } from '../lib/proc.js';
import { connectClients, GEN_BOUND_PCT, totalDelivered } from './fanout.js';
import { fmt, withSession, type Failure, type Log } from './session.js';

export interface S3Run {
  server: ServerName;
  round: number;
  persistedPerS: number;
  acks: number;
  non2xx: number;
  errors: number;
  ack: LatencySummary;
  subscriberDeliveryPct: number | null;
  serverCpuPct: number;
  genCpuPct: number;
  genBound: boolean;
  foreignCpuPct: number;
  /** Ours: POST -> a checkpoint frame covering it, after the ingest window. */
  checkpoint?: LatencySummary;
}
export interface S3Row {
  sync: Sync;
  subscribers: number;
  concurrency: number;
  runs: S3Run[];
  failures: Failure[];
}

export async function runS3(p: Profile, log: Log): Promise<S3Row[]> {
  const cfg = p.s3;
  if (!cfg) return [];
  const rows: S3Row[] = [];
  for (const sync of cfg.syncs) {
    for (const subscribers of cfg.subscribers) {
      const row: S3Row = { sync, subscribers, concurrency: cfg.concurrency, runs: [], failures: [] };
      rows.push(row);
      for (let round = 0; round < cfg.rounds; round++) {
        // Per-signal signatures off: only where its target is (NORMAL, no subscribers), beside ours.
        const withUnsigned =
          sync === 'normal' && subscribers === 0 && p.servers.includes('catalyst')
            ? [...p.servers, 'catalyst-unsigned' as const]
            : p.servers;
        for (const server of roundOrder(withUnsigned, round)) {
          try {
            const run = await withSession(server, sync, async (s) => {
              if (subscribers > 0) {
                s.gens = await connectClients(s.server, subscribers, p.perGen, p.sampleEvery);
                await Promise.all(s.gens.map((g) => g.call({ op: 'window', fromSeq: 1 })));
              }
              const ingestGen = new Gen();
              s.gens.push(ingestGen);
              await ingestGen.call({ op: 'count' }); // loaded, so its start-up is not measured
              const cpu0 = s.server.cpuUs();
              const busy0 = machineBusyUs();
              const self0 = process.cpuUsage();
              const r = await ingestGen.call<IngestResult>({
                op: 'ingest',
                spec: {
                  port: s.server.port,
                  token: s.server.publishToken,
                  concurrency: cfg.concurrency,
                  durationMs: cfg.durationMs,
                  firstIndex: 0,
                  tag: `i${process.pid}-${round}-${sync}`,
                },
              });
              const serverCpu = s.server.cpuUs() - cpu0;
              const busy = machineBusyUs() - busy0;
              const subGens = s.gens.slice(0, -1);
              let subPct: number | null = null;
              let subCpu = 0;
              if (subscribers > 0) {
                const expected = r.acks * subscribers;
                const end = Date.now() + 5_000;
                while (Date.now() < end && (await totalDelivered(subGens)) < expected) await sleep(50);
                const reports = await Promise.all(subGens.map((g) => g.call<WindowReport>({ op: 'report' })));
                subPct = (reports.reduce((a, x) => a + x.delivered, 0) / Math.max(1, expected)) * 100;
                subCpu = reports.reduce((a, x) => a + x.cpuUs, 0);
              }
              const wallUs = r.elapsedMs * 1000;
              const self = process.cpuUsage(self0);
              // After every CPU figure above was taken: the probe is not part of the ingest measurement.
              const checkpoint =
                isOurs(server) && cfg.checkpointProbes > 0
                  ? await checkpointLatency({
                      port: s.server.port,
                      publishToken: s.server.publishToken!,
                      readToken: s.server.readToken!,
                      probes: cfg.checkpointProbes,
                      spacingMs: 300,
                      tag: `i${process.pid}-${round}-${sync}-${subscribers}`,
                    })
                  : undefined;
              const genCpu = r.cpuUs + subCpu + self.user + self.system;
              const genCpuPct = (genCpu / wallUs) * 100;
              return {
                server,
                round,
                persistedPerS: r.acks / (r.elapsedMs / 1000),
                acks: r.acks,
                non2xx: r.non2xx + r.duplicates,
                errors: r.errors,
                ack: summarise(mergeHistograms([r.latency])),
                subscriberDeliveryPct: subPct,
                serverCpuPct: (serverCpu / wallUs) * 100,
                genCpuPct,
                genBound: genCpuPct >= GEN_BOUND_PCT,
                foreignCpuPct: Math.max(0, ((busy - serverCpu - genCpu) / wallUs) * 100),
                ...(checkpoint ? { checkpoint } : {}),
              } satisfies S3Run;
            });
            row.runs.push(run);
            log(
              `S3 ${sync} ${subscribers}subs r${round + 1} ${server.padEnd(8)} ${fmt(run.persistedPerS, 0)} signals/s ` +
                `ack p50 ${fmt(run.ack.p50, 2)} p99 ${fmt(run.ack.p99, 2)} ms, non-2xx ${run.non2xx}` +
                `${run.subscriberDeliveryPct !== null ? `, subscribers got ${fmt(run.subscriberDeliveryPct, 2)}%` : ''}, gen ${fmt(run.genCpuPct, 0)}% other ${fmt(run.foreignCpuPct, 0)}%` +
                `${run.checkpoint ? `, checkpoint p50 ${fmt(run.checkpoint.p50, 0)} p99 ${fmt(run.checkpoint.p99, 0)} ms` : ''}`,
            );
          } catch (err) {
            row.failures.push({ server, round, error: String(err) });
            log(`S3 ${sync} ${subscribers}subs ${server} FAILED: ${String(err).slice(0, 300)}`);
          }
        }
      }
    }
  }
  return rows;
}
