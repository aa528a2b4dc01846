/**
 * Open-loop ingest: POSTs scheduled at a fixed offered rate, evenly spaced, whatever the server does. They go
 * out over a pool of keep-alive raw HTTP/1.1 connections opened beforehand, one request in flight on each;
 * when every connection is busy a POST waits in a bounded local queue and goes out on the next free one.
 *
 * Latency is measured from each POST's INTENDED send time (its slot in the schedule) to the end of its answer,
 * not from when it was written: a server that stalls shows up as latency on every POST scheduled during the
 * stall (coordinated omission corrected, as wrk2 and HdrHistogram do), not as a lower request rate. A closed
 * loop cannot answer "does it sustain R/s within a latency bound": at saturation its latency is just
 * connections ÷ throughput (Little's law).
 */
import { connect, type Socket } from 'node:net';
import { classification } from '../lib/classification.js';
import { encodeHistogram, newHistogram } from './histogram.js';
import { postSignal, responseLength, statusOf } from './http1.js';
import { emptyIngestResult, nowUs, type OpenIngestResult, type OpenIngestSpec } from './protocol.js';

interface Conn {
  socket: Socket;
  pending: Buffer;
  /** Intended send time (µs) of the POST in flight on it; 0 when idle. */
  intended: number;
  alive: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runOpenIngest(spec: OpenIngestSpec): Promise<OpenIngestResult> {
  const hist = newHistogram();
  const res: OpenIngestResult = {
    ...emptyIngestResult(),
    offeredPerS: spec.rate,
    scheduled: 0,
    sent: 0,
    late: 0,
    unsent: 0,
    unanswered: 0,
    queueMax: 0,
    inFlightMax: 0,
    connections: 0,
    sendLagMaxMs: 0,
  };
  const cpu0 = process.cpuUsage();
  const idle: Conn[] = [];
  const all: Conn[] = [];
  // Intended send times of POSTs waiting for a free connection, oldest first; bounded by spec.maxQueue.
  const queue: number[] = [];
  let qHead = 0;
  const queued = () => queue.length - qHead;
  let inFlight = 0;
  let n = 0;
  let lastAnswerUs = 0;
  let scheduling = true;
  let drained: (() => void) | undefined;

  const checkDone = () => {
    if (!scheduling && inFlight === 0 && queued() === 0) drained?.();
  };

  const send = (c: Conn, intended: number) => {
    const now = nowUs();
    c.intended = intended;
    inFlight++;
    res.sent++;
    res.inFlightMax = Math.max(res.inFlightMax, inFlight);
    res.sendLagMaxMs = Math.max(res.sendLagMaxMs, (now - intended) / 1000);
    const body = JSON.stringify(classification(`${spec.tag}-${n++}`, intended));
    c.socket.write(postSignal(spec.token, body));
  };

  /** A connection is free: the oldest waiting POST goes out on it, or it joins the idle pool. */
  const free = (c: Conn) => {
    c.intended = 0;
    if (queued() > 0) {
      send(c, queue[qHead++]!);
      // Drop the sent prefix now and then, so the array stays bounded by maxQueue.
      if (qHead > 1024 && qHead * 2 > queue.length) {
        queue.splice(0, qHead);
        qHead = 0;
      }
    } else idle.push(c);
  };

  let finished = false;
  const lost = (c: Conn) => {
    if (!c.alive || finished) return;
    c.alive = false;
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    if (c.intended) {
      // Sent, never answered: an error, not a latency sample.
      res.errors++;
      inFlight--;
      c.intended = 0;
    }
    checkDone();
  };

  const open = (index: number) =>
    new Promise<void>((resolve) => {
      const c: Conn = {
        socket: connect({
          host: '127.0.0.1',
          port: spec.port,
          localAddress: `127.0.0.${2 + ((spec.firstIndex + index) % 250)}`,
        }),
        pending: Buffer.alloc(0),
        intended: 0,
        alive: false,
      };
      c.socket.setNoDelay(true);
      c.socket.once('connect', () => {
        c.alive = true;
        all.push(c);
        idle.push(c);
        resolve();
      });
      c.socket.on('data', (chunk: Buffer) => {
        c.pending = c.pending.length ? Buffer.concat([c.pending, chunk]) : chunk;
        for (;;) {
          const len = responseLength(c.pending);
          if (len === 0) return;
          if (len < 0 || !c.intended) {
            c.socket.destroy();
            return lost(c);
          }
          const status = statusOf(c.pending);
          c.pending = c.pending.subarray(len);
          lastAnswerUs = nowUs();
          hist.recordValue(Math.max(1, lastAnswerUs - c.intended));
          if (status === 201) res.acks++;
          else if (status === 200) res.duplicates++;
          else res.non2xx++;
          inFlight--;
          free(c);
          checkDone();
        }
      });
      c.socket.on('error', () => {
        if (!c.alive) res.errors++;
        lost(c);
        resolve();
      });
      c.socket.on('close', () => {
        lost(c);
        resolve();
      });
    });

  // Every connection is open before the first slot, so connecting is not in the measured latency.
  await Promise.all(Array.from({ length: spec.connections }, (_, i) => open(i)));
  res.connections = all.length;
  if (!all.length) throw new Error(`open-loop ingest: no connection to port ${spec.port}`);

  const intervalUs = 1e6 / spec.rate;
  const total = Math.max(1, Math.round((spec.rate * spec.durationMs) / 1000));
  const start = nowUs() + 2_000;
  for (let i = 0; i < total;) {
    const now = nowUs();
    for (; i < total && start + i * intervalUs <= now; i++) {
      const intended = Math.round(start + i * intervalUs);
      res.scheduled++;
      const c = idle.pop();
      if (c) send(c, intended);
      else if (queued() < spec.maxQueue) {
        // Every connection is busy: it waits, and the wait counts in its latency.
        res.late++;
        queue.push(intended);
        res.queueMax = Math.max(res.queueMax, queued());
      } else res.unsent++;
    }
    // Timers fire no sooner than ~1 ms: due slots are sent together on the next turn (the lag is reported).
    if (i < total) await sleep(Math.max(0, Math.min(1, (start + i * intervalUs - nowUs()) / 1000)));
  }
  const scheduleEnd = start + total * intervalUs;
  scheduling = false;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    drained = resolve;
    timer = setTimeout(resolve, spec.drainMs);
    checkDone();
  });
  clearTimeout(timer);
  res.unanswered = inFlight;
  res.unsent += queued();
  finished = true;
  for (const c of all) c.socket.destroy();
  const cpu = process.cpuUsage(cpu0);
  return {
    ...res,
    latency: encodeHistogram(hist),
    // The schedule's window, or longer when answers came after it: achieved rate = acks ÷ elapsed.
    elapsedMs: (Math.max(scheduleEnd, lastAnswerUs) - start) / 1000,
    cpuUs: cpu.user + cpu.system,
  };
}
