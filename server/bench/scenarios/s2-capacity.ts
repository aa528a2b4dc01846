/**
 * S2: capacity. Same subscribers, the delivery rate raised step by step until p99 > limit or delivery < 100%;
 * the result is the highest delivered msg/s of a passing step.
 */
import { roundOrder, type Profile } from '../config.js';
import { sleep } from '../lib/publisher.js';
import type { ServerName } from '../lib/servers.js';
import { connectClients, fanoutWindow, type FanoutMetrics } from './fanout.js';
import { fmt, withSession, type Failure, type Log } from './session.js';

export type S2Step = FanoutMetrics & { pass: boolean };
export interface S2Run {
  server: ServerName;
  round: number;
  steps: S2Step[];
  maxSustained: number;
  /** The best passing step had a saturated generator: the server may have more. */
  genBound: boolean;
  stoppedBy: string;
}
export interface S2Result {
  clients: number;
  p99LimitMs: number;
  runs: S2Run[];
  failures: Failure[];
}

export async function runS2(p: Profile, log: Log): Promise<S2Result | null> {
  const cfg = p.s2;
  if (!cfg) return null;
  const res: S2Result = { clients: cfg.clients, p99LimitMs: cfg.p99LimitMs, runs: [], failures: [] };
  for (let round = 0; round < cfg.rounds; round++) {
    for (const server of roundOrder(p.servers, round)) {
      try {
        const run = await withSession(server, 'normal', async (s) => {
          s.gens = await connectClients(s.server, cfg.clients, p.perGen, p.sampleEvery);
          await s.pub.openLoop(cfg.steps[0]! / cfg.clients, cfg.warmupMs);
          await sleep(200);
          const r: S2Run = {
            server,
            round,
            steps: [],
            maxSustained: 0,
            genBound: false,
            stoppedBy: 'last step passed',
          };
          for (const target of cfg.steps) {
            const m = await fanoutWindow(
              s.server,
              s.gens,
              cfg.clients,
              s.pub,
              target / cfg.clients,
              cfg.durationMs,
              cfg.drainMs,
            );
            const pass = m.deliveryPct >= 100 && m.latency.p99 <= cfg.p99LimitMs;
            r.steps.push({ ...m, pass });
            log(
              `S2 r${round + 1} ${server.padEnd(8)} target ${fmt(target / 1000, 0)}k/s -> ${fmt(m.deliveredPerS / 1000, 1)}k/s ` +
                `p99 ${fmt(m.latency.p99, 1)} ms delivered ${fmt(m.deliveryPct, 2)}% server ${fmt(m.serverCpuPct, 0)}% ` +
                `gen ${fmt(m.genCpuPct, 0)}% other ${fmt(m.foreignCpuPct, 0)}% ${pass ? 'pass' : 'FAIL'}`,
            );
            if (!pass) {
              r.stoppedBy =
                m.deliveryPct < 100 ? `delivery ${fmt(m.deliveryPct, 2)}%` : `p99 ${fmt(m.latency.p99)} ms`;
              break;
            }
            if (m.deliveredPerS > r.maxSustained) {
              r.maxSustained = m.deliveredPerS;
              r.genBound = m.genBound;
            }
            await sleep(300);
          }
          return r;
        });
        res.runs.push(run);
      } catch (err) {
        res.failures.push({ server, round, error: String(err) });
        log(`S2 r${round + 1} ${server} FAILED: ${String(err).slice(0, 300)}`);
      }
    }
  }
  return res;
}
