import type { Connection } from './connection.js';

/**
 * The connection as a person watching `run` wants to see it: ONE line once connected and caught up, ONE line
 * per reconnect attempt with the reason, instead of JSON log records.
 *   connected to ws://127.0.0.1:8787/v1/stream, caught up at seq 41, waiting for signals
 *   connection lost (ECONNREFUSED 127.0.0.1:8787); retrying in 2.1 s (attempt 3)
 * With server.urls, the gateway lost and the one tried next:
 *   connection lost to ws://gw1:8787/v1/stream (no frame from the server for 30 s); trying ws://gw2:8787/v1/stream now (attempt 1)
 */
export function reportConnection(
  c: Connection,
  firstUrl: string,
  cursorSeq: () => number,
  print: (line: string) => void,
): void {
  let everConnected = false; // a hello was seen: later trouble is a lost connection, not a failed first one
  let announced = false;
  let announce = false;
  let url = firstUrl; // the gateway that said hello last (with server.urls, any of them)
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
  c.on('hello', (_hello: unknown, _skew: number, at: string) => {
    url = at;
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
  c.on('reconnecting', (r: { why: string; delay: number; attempt: number; url: string; nextUrl: string }) => {
    announce = false;
    target = undefined;
    // One server: "retrying in"; a cluster: which gateway is tried next, since that is what happens.
    const next = r.nextUrl !== r.url ? ` ${r.nextUrl}` : '';
    const retry =
      r.delay === 0 && next
        ? `trying${next} now (attempt ${r.attempt})`
        : `retrying${next} in ${(r.delay / 1000).toFixed(1)} s (attempt ${r.attempt})`;
    const lost = everConnected && r.url === url;
    if (!next)
      print(
        lost ? `connection lost (${r.why}); ${retry}` : `cannot connect to ${r.url} (${r.why}); ${retry}`,
      );
    else print(`${lost ? 'connection lost to' : 'cannot connect to'} ${r.url} (${r.why}); ${retry}`);
  });
  // A fatal stop is said once, by the CLI on stderr, with the commands that start trading again.
}
