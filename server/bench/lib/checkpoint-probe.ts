/**
 * Checkpoint latency (issue 24): POST one signal, then wait for a `checkpoint` frame whose tree covers its seq.
 * Sequential probes, randomly spaced so they land anywhere in the checkpoint interval; one WebSocket client
 * that asked for checkpoint frames. Run after an S3 ingest window, so it does not change what S3 measures.
 */
import WebSocket from 'ws';
import { newHistogram, summarise, type LatencySummary } from '../gen/histogram.js';
import { classification } from './classification.js';
import { sleep } from './publisher.js';

export async function checkpointLatency(o: {
  port: number;
  publishToken: string;
  readToken: string;
  probes: number;
  /** Each probe waits a random 0..spacingMs before it posts. */
  spacingMs: number;
  tag: string;
}): Promise<LatencySummary> {
  const ws = new WebSocket(`ws://127.0.0.1:${o.port}/v1/stream`, {
    headers: { authorization: `Bearer ${o.readToken}` },
  });
  let covered = 0;
  let wake: (() => void) | undefined;
  const live = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString()) as { type: string; checkpoint?: string };
      if (f.type === 'hello') ws.send(JSON.stringify({ type: 'subscribe', checkpoints: {} }));
      if (f.type === 'caught_up') resolve();
      if (f.type === 'checkpoint') {
        covered = Math.max(covered, Number(f.checkpoint!.split('\n')[1]));
        wake?.();
      }
    });
  });
  try {
    await live;
    const h = newHistogram();
    for (let i = 0; i < o.probes; i++) {
      await sleep(Math.random() * o.spacingMs);
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${o.port}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.publishToken}` },
        body: JSON.stringify(classification(`${o.tag}-cp-${i}`, 0)),
      });
      if (r.status !== 201) throw new Error(`checkpoint probe: POST answered ${r.status}`);
      const seq = ((await r.json()) as { seq: number }).seq;
      const deadline = Date.now() + 10_000;
      while (covered < seq) {
        if (Date.now() > deadline)
          throw new Error(`checkpoint probe: no checkpoint covering seq ${seq} in 10 s`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 1000);
        });
      }
      h.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    }
    return summarise(h);
  } finally {
    ws.terminate();
  }
}
