// Uncommitted probe: alternating short s3 NORMAL/0-subs runs, catalyst-unsigned vs ws-naive.
import { Gen } from './lib/gen-pool.js';
import { startServer, pinServersTo, type ServerName } from './lib/servers.js';
import { pinSelf } from './lib/proc.js';
import type { IngestResult } from './gen/protocol.js';

pinServersTo(true);
pinSelf(1);
const rounds = Number(process.argv[2] ?? 3);
const ms = Number(process.argv[3] ?? 3000);
const names = (process.argv[4] ?? 'catalyst-unsigned,ws-naive').split(',') as ServerName[];
const res: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? [...names].reverse() : names) {
    const server = await startServer(name, 'normal');
    const g = new Gen();
    try {
      await g.call({ op: 'count' });
      const out = await g.call<IngestResult>({
        op: 'ingest',
        spec: { port: server.port, token: server.publishToken, concurrency: 32, durationMs: ms, firstIndex: 0, tag: `p${process.pid}-${r}-${name}` },
      });
      const rate = out.acks / (out.elapsedMs / 1000);
      (res[name] ??= []).push(rate);
      console.log(`${name} r${r} ${rate.toFixed(0)}/s non2xx ${out.non2xx} errors ${out.errors}`);
    } finally {
      await g.close();
      await server.stop();
    }
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
for (const [k, v] of Object.entries(res)) console.log(k, 'median', med(v).toFixed(0));
if (res['catalyst-unsigned'] && res['ws-naive'])
  console.log('ratio median', (med(res['catalyst-unsigned']) / med(res['ws-naive'])).toFixed(3));
