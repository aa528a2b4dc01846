import { DeliverPolicy } from '@nats-io/jetstream';
import type { NatsHandle } from './connection.js';

export interface LogEntry {
  /** Stream seq (== signal seq). */
  seq: number;
  subject: string;
  /** The stored signal JSON, exactly as published. */
  json: string;
  /** When the stream stored it (server clock). */
  time: Date;
}

/**
 * Reads stream seqs [from, to] once, in order, with an ordered consumer (for checks, tests and CLI commands;
 * a gateway's live follow is follower.ts, which also survives node deaths). Throws if the range cannot be
 * read within `timeoutMs` or a seq in it is missing (this log never deletes).
 */
export async function readRange(
  h: NatsHandle,
  stream: string,
  from: number,
  to: number,
  onEntry: (e: LogEntry) => void,
  timeoutMs = 30_000,
): Promise<void> {
  if (to < from) return;
  const c = await h.js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  const msgs = await c.consume({ max_messages: 1000, expires: 2000 });
  let expected = from;
  const timer = setTimeout(() => void msgs.stop(), timeoutMs);
  try {
    for await (const m of msgs) {
      const seq = m.info.streamSequence;
      if (seq !== expected) throw new Error(`read seq ${seq}, expected ${expected}: a hole in the log`);
      onEntry({ seq, subject: m.subject, json: m.string(), time: new Date(m.info.timestampNanos / 1e6) });
      if (++expected > to) break;
    }
  } finally {
    clearTimeout(timer);
    await msgs.close().catch(() => undefined);
  }
  if (expected <= to)
    throw new Error(`read stopped at seq ${expected - 1} of ${to} (timeout ${timeoutMs} ms)`);
}
