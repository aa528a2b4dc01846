import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/journal/index.js';
import { runCli, startClient, writeConfig, type ClientProc } from './helpers/client-process.js';
import { serverBuilt, startRealServer, type RealServer } from './helpers/real-server.js';

// Issue 13, client failover, against REAL servers. Two single-node servers cannot share a live log, so both
// gateways here start from one data directory copied while the first was stopped: the same epoch, the same
// seqs, the same signing key and API keys, exactly what every gateway of a cluster serves. After a gateway
// dies, signals are published on the surviving one only; the client must fail over, resume by seq from the
// last applied signal, and apply each seq exactly once, in order (the journal's UNIQUE (epoch, seq) would
// turn a second apply into a fatal error, and each decided signal prints one `#seq` line).

const HEARTBEAT_MS = 500;
/** Server and client processes start slowly on a loaded 2-core machine. */
const WAIT_MS = 60_000;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const streamOf = (url: string) => `ws://${new URL(url).host}/v1/stream`;

let dir: string;
let servers: RealServer[] = [];
let client: ClientProc | undefined;

beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-failover-'))));
afterEach(async () => {
  client?.child.kill('SIGKILL');
  client = undefined;
  for (const s of servers) {
    s.child.kill('SIGCONT');
    if (s.child.exitCode === null && s.child.signalCode === null) await s.stop();
  }
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on (connection refused): bound, then released. */
async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return `http://127.0.0.1:${port}`;
}

let n = 0;
const classification = () => ({
  source_id: `failover-${n++}`,
  symbol: 'BTC',
  catalyst: 'earnings',
  direction: 'long',
  confidence: 0.9,
  price: 60000,
  headline: 'headline',
  classified_at: new Date().toISOString(),
});

/** Gateways A and B serving one log with seqs 1..3, and a read key valid on both. */
async function twoGateways(): Promise<{ a: RealServer; b: RealServer; readKey: string; publishKey: string }> {
  const dirA = join(dir, 'a');
  const first = await startRealServer(dirA, HEARTBEAT_MS);
  servers.push(first);
  const readKey = await first.createKey('friend', 'read');
  const publishKey = await first.createKey('bot', 'publish');
  for (let i = 0; i < 3; i++) expect((await first.publish(publishKey, classification())).status).toBe(201);
  await first.stop();
  servers = [];
  cpSync(dirA, join(dir, 'b'), { recursive: true });
  const [a, b] = await Promise.all([
    startRealServer(dirA, HEARTBEAT_MS),
    startRealServer(join(dir, 'b'), HEARTBEAT_MS),
  ]);
  servers.push(a, b);
  return { a, b, readKey, publishKey };
}

const config = (urls: string[]) =>
  writeConfig(dir, {
    server: { urls, start_from: 'all', reconnect: { initial_delay_ms: 100, max_delay_ms: 300 } },
  });

function run(urls: string[], readKey: string): ClientProc {
  return startClient(['-c', config(urls), 'run'], { CATALYST_SERVER_KEY: readKey }, dir);
}

/** Seqs in the journal's decisions, in seq order, and the `#seq` lines run printed. */
function decided(): { journal: number[]; printed: number[] } {
  const j = Journal.open(join(dir, 'catalyst-client-data', 'journal.sqlite'));
  try {
    return {
      journal: j
        .decisions({ limit: 100 })
        .map((d) => d.seq)
        .sort((x, y) => x - y),
      printed: [...client!.stdout.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1])),
    };
  } finally {
    j.close();
  }
}

describe.skipIf(!serverBuilt())(
  'client failover across gateways (real servers)',
  { timeout: 120_000 },
  () => {
    it('first URL refused, the second serves; that gateway killed: the third resumes by seq, each seq once', async () => {
      const { a, b, readKey, publishKey } = await twoGateways();
      const dead = await deadUrl();
      // check reports each URL: the dead one is a warning while the others pass, so the client can run.
      const chk = await runCli(
        ['-c', config([dead, a.url, b.url]), 'check'],
        { CATALYST_SERVER_KEY: readKey },
        dir,
      );
      expect(chk.stdout).toMatch(
        new RegExp(`\\[warn\\] server unreachable: ${esc(dead)}/healthz: ECONNREFUSED`),
      );
      for (const s of [a, b]) {
        expect(chk.stdout).toMatch(new RegExp(`\\[ok  \\] server ${esc(s.url)} reachable: status ok`));
        expect(chk.stdout).toContain(`[ok  ] stream ${streamOf(s.url)}: protocol`);
      }
      expect(chk.stdout).toContain('all checks passed');
      expect(chk.code).toBe(0);
      client = run([dead, a.url, b.url], readKey);
      // The signing key is pinned over REST from the first gateway that answers; the stream skips the dead one.
      await client.waitStdout(
        new RegExp(`connected to ${esc(streamOf(a.url))}, caught up at seq 3, waiting for signals\n`),
        WAIT_MS,
      );
      expect(client.stdout).toContain(`cannot connect to ${streamOf(dead)} (ECONNREFUSED`);
      expect(client.stdout).toContain(`trying ${streamOf(a.url)} now (attempt 1)`);

      const killedAt = Date.now();
      a.child.kill('SIGKILL');
      await client.waitStdout(
        new RegExp(
          `connection lost to ${esc(streamOf(a.url))} .*; trying ${esc(streamOf(b.url))} now \\(attempt 1\\)`,
        ),
        WAIT_MS,
      );
      // A killed gateway's sockets close: the switch is immediate, well within two heartbeat intervals.
      expect(Date.now() - killedAt).toBeLessThan(2 * HEARTBEAT_MS);
      for (let i = 0; i < 2; i++) expect((await b.publish(publishKey, classification())).status).toBe(201);
      // Caught up at 3, 4 or 5, depending on how many publishes beat the reconnect; either way 4 and 5 follow once.
      await client.waitStdout(
        new RegExp(`reconnected to ${esc(streamOf(b.url))}, caught up at seq [345], waiting for signals\n`),
        WAIT_MS,
      );
      await client.waitStdout(/^#5 /m, WAIT_MS);
      client.child.kill('SIGINT');
      expect((await client.exited).code).toBe(0);
      expect(decided()).toEqual({ journal: [1, 2, 3, 4, 5], printed: [1, 2, 3, 4, 5] });
    });

    it('a hung gateway (SIGSTOP: open socket, no frames): the next within two heartbeat intervals, each seq once', async () => {
      const { a, b, readKey, publishKey } = await twoGateways();
      client = run([a.url, b.url], readKey);
      await client.waitStdout(/caught up at seq 3, waiting for signals\n/, WAIT_MS);
      const stoppedAt = Date.now();
      a.child.kill('SIGSTOP');
      await client.waitStdout(
        new RegExp(
          `connection lost to ${esc(streamOf(a.url))} \\(no frame from the server for 1.0 s\\); trying ${esc(streamOf(b.url))} now`,
        ),
        WAIT_MS,
      );
      // Silence is detected heartbeat_ms x heartbeat_misses (2) after the last frame, which came before SIGSTOP.
      const switchedAfter = Date.now() - stoppedAt;
      expect(switchedAfter).toBeLessThanOrEqual(2 * HEARTBEAT_MS + 1000); // + event-loop and pipe latency
      for (let i = 0; i < 2; i++) expect((await b.publish(publishKey, classification())).status).toBe(201);
      await client.waitStdout(
        new RegExp(`reconnected to ${esc(streamOf(b.url))}, caught up at seq \\d+, waiting for signals\n`),
        WAIT_MS,
      );
      await client.waitStdout(/^#5 /m, WAIT_MS);
      client.child.kill('SIGINT');
      expect((await client.exited).code).toBe(0);
      expect(decided()).toEqual({ journal: [1, 2, 3, 4, 5], printed: [1, 2, 3, 4, 5] });
    });
  },
);
