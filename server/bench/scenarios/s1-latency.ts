/** S1: fan-out latency at a fixed delivery rate, per client count, every server, alternating rounds. */
import { roundOrder, type Profile } from '../config.js';
import { sleep } from '../lib/publisher.js';
import type { ServerName } from '../lib/servers.js';
import { connectClients, fanoutWindow, type FanoutMetrics } from './fanout.js';
import { fmt, withSession, type Failure, type Log } from './session.js';

export type S1Run = FanoutMetrics & { server: ServerName; round: number };
export interface S1Row {
  clients: number;
  deliveriesPerS: number;
  runs: S1Run[];
  failures: Failure[];
}

export async function runS1(p: Profile, log: Log): Promise<S1Row[]> {
  const rows: S1Row[] = [];
  for (const clients of p.s1.clients) {
    const row: S1Row = { clients, deliveriesPerS: p.s1.deliveriesPerS, runs: [], failures: [] };
    rows.push(row);
    const pubRate = p.s1.deliveriesPerS / clients;
    for (let round = 0; round < p.rounds; round++) {
      for (const server of roundOrder(p.servers, round)) {
        try {
          const m = await withSession(server, 'normal', async (s) => {
            s.gens = await connectClients(s.server, clients, p.perGen, p.sampleEvery);
            await s.pub.openLoop(pubRate, p.s1.warmupMs);
            await sleep(200);
            return fanoutWindow(s.server, s.gens, clients, s.pub, pubRate, p.s1.durationMs, p.s1.drainMs);
          });
          row.runs.push({ ...m, server, round });
          log(
            `S1 ${clients}c r${round + 1} ${server.padEnd(8)} p50 ${fmt(m.latency.p50, 2)} p99 ${fmt(m.latency.p99, 2)} ` +
              `max ${fmt(m.latency.max)} ms, ${fmt(m.serverCpuUsPerDelivery, 2)} µs/msg, delivered ${fmt(m.deliveryPct, 2)}%` +
              `${m.drops || m.gaps || m.dups ? ` drops ${m.drops} gaps ${m.gaps} dups ${m.dups}` : ''}` +
              `, server ${fmt(m.serverCpuPct, 0)}% gen ${fmt(m.genCpuPct, 0)}% other ${fmt(m.foreignCpuPct, 0)}%${m.errors.length ? ` ! ${m.errors[0]}` : ''}`,
          );
        } catch (err) {
          row.failures.push({ server, round, error: String(err) });
          log(`S1 ${clients}c r${round + 1} ${server} FAILED: ${String(err).slice(0, 300)}`);
        }
      }
    }
  }
  return rows;
}
