/**
 * S5: memory per idle subscribed connection: RSS before and after opening `clients` connections. Peers are
 * run with --expose-gc and collected through their bench-only endpoint first; our server has no such hook,
 * so its figure is a plain RSS delta (which can only overstate it).
 */
import { roundOrder, type Profile } from '../config.js';
import { sleep } from '../lib/publisher.js';
import type { ServerName } from '../lib/servers.js';
import { connectClients } from './fanout.js';
import { fmt, withSession, type Failure, type Log } from './session.js';

export interface S5Run {
  server: ServerName;
  round: number;
  clients: number;
  rssBefore: number;
  rssAfter: number;
  bytesPerConnection: number;
  gc: boolean;
}
export interface S5Result {
  clients: number;
  runs: S5Run[];
  failures: Failure[];
}

export async function runS5(p: Profile, log: Log): Promise<S5Result | null> {
  const cfg = p.s5;
  if (!cfg) return null;
  const res: S5Result = { clients: cfg.clients, runs: [], failures: [] };
  for (let round = 0; round < p.rounds; round++) {
    for (const server of roundOrder(p.servers, round)) {
      try {
        const run = await withSession(server, 'normal', async (s) => {
          await sleep(500);
          const gc = await s.server.gc();
          const rssBefore = s.server.rss();
          s.gens = await connectClients(s.server, cfg.clients, p.perGen, p.sampleEvery);
          await sleep(1_000);
          await s.server.gc();
          await sleep(200);
          const rssAfter = s.server.rss();
          return {
            server,
            round,
            clients: cfg.clients,
            rssBefore,
            rssAfter,
            bytesPerConnection: (rssAfter - rssBefore) / cfg.clients,
            gc,
          };
        });
        res.runs.push(run);
        log(
          `S5 r${round + 1} ${server.padEnd(8)} ${fmt(run.bytesPerConnection / 1024, 2)} KB per connection (RSS ${fmt(run.rssBefore / 2 ** 20)} -> ${fmt(run.rssAfter / 2 ** 20)} MB${run.gc ? ', after gc' : ', no gc hook'})`,
        );
      } catch (err) {
        res.failures.push({ server, round, error: String(err) });
        log(`S5 ${server} FAILED: ${String(err).slice(0, 300)}`);
      }
    }
  }
  return res;
}
