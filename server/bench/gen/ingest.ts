/**
 * Closed-loop ingest: `concurrency` keep-alive raw HTTP/1.1 connections, each POSTing one classification,
 * waiting for the answer, then sending the next, until the deadline. Ack latency is measured from write to
 * the end of the response.
 */
import { connect, type Socket } from 'node:net';
import { classification } from '../lib/classification.js';
import { encodeHistogram, newHistogram } from './histogram.js';
import { postSignal, responseLength, statusOf } from './http1.js';
import { emptyIngestResult, nowUs, type IngestResult, type IngestSpec } from './protocol.js';

export async function runIngest(spec: IngestSpec): Promise<IngestResult> {
  const hist = newHistogram();
  const res: IngestResult = emptyIngestResult();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const deadline = t0 + spec.durationMs;
  let n = 0;
  const one = (c: number) =>
    new Promise<void>((resolve) => {
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const next = () => {
        if (Date.now() >= deadline) {
          socket.end();
          return resolve();
        }
        const body = JSON.stringify(classification(`${spec.tag}-${spec.firstIndex + c}-${n++}`, nowUs()));
        sentAt = nowUs();
        socket.write(postSignal(spec.token, body));
      };
      const socket: Socket = connect({
        host: '127.0.0.1',
        port: spec.port,
        localAddress: `127.0.0.${2 + ((spec.firstIndex + c) % 250)}`,
      });
      socket.setNoDelay(true);
      socket.on('connect', next);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          const len = responseLength(pending);
          if (len === 0) return;
          if (len < 0) {
            res.errors++;
            socket.destroy();
            return resolve();
          }
          const status = statusOf(pending);
          pending = pending.subarray(len);
          hist.recordValue(Math.max(1, nowUs() - sentAt));
          if (status === 201) res.acks++;
          else if (status === 200) res.duplicates++;
          else res.non2xx++;
          next();
        }
      });
      socket.on('error', () => {
        res.errors++;
        resolve();
      });
      socket.on('close', () => resolve());
    });
  await Promise.all(Array.from({ length: spec.concurrency }, (_, c) => one(c)));
  const cpu = process.cpuUsage(cpu0);
  return { ...res, latency: encodeHistogram(hist), elapsedMs: Date.now() - t0, cpuUs: cpu.user + cpu.system };
}
