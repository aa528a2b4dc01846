import type { Connection } from './connection.js';

/**
 * The connection as a person watching `run` wants to see it: ONE line once connected and caught up, ONE line
 * per reconnect attempt with the reason, instead of JSON log records.
 *   connected to ws://127.0.0.1:8787/v1/stream, caught up at seq 41, waiting for signals
 *   connection lost (ECONNREFUSED 127.0.0.1:8787); retrying in 2.1 s (attempt 3)
 */
export function reportConnection(
  c: Connection,
  url: string,
  cursorSeq: () => number,
  print: (line: string) => void,
): void {
  let everConnected = false; // a hello was seen: later trouble is a lost connection, not a failed first one
  let announced = false;
  let announce = false;
  // The server's caught_up seq; announced once the journal has applied up to it, so the line comes after the
  // lines of the signals it covers.
  let target: number | undefined;
  const maybeAnnounce = () => {
    if (target === undefined || cursorSeq() < target) return;
    print(
      `${announced ? 'reconnected' : 'connected'} to ${url}, caught up at seq ${target}, waiting for signals`,
    );
    announced = true;
    target = undefined;
  };
  c.on('hello', () => {
    everConnected = true;
    announce = true;
  });
  c.on('caught_up', (seq: number) => {
    if (!announce) return;
    announce = false;
    target = seq;
    maybeAnnounce();
  });
  c.on('applied', maybeAnnounce);
  c.on('reconnecting', (r: { why: string; delay: number; attempt: number }) => {
    announce = false;
    target = undefined;
    const retry = `retrying in ${(r.delay / 1000).toFixed(1)} s (attempt ${r.attempt})`;
    print(
      everConnected
        ? `connection lost (${r.why}); ${retry}`
        : `cannot connect to ${url} (${r.why}); ${retry}`,
    );
  });
  c.on('fatal', (e: Error) => print(`TRADING STOPPED: ${e.message}`));
}
