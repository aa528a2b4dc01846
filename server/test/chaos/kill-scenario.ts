import { expect } from 'vitest';
import { ChildServer } from '../helpers/child-server.js';
import { OpenLoopPublisher } from '../helpers/publishers.js';
import { ResumingStream } from '../helpers/resuming-ws.js';
import { verifyStore } from '../helpers/verify-store.js';

export interface KillScenario {
  rounds: number;
  publishers: number;
  /** Total publish rate across publishers. */
  ratePerS: number;
  /** Each round the server runs a random time in [minUpMs, maxUpMs], then gets SIGKILL. */
  minUpMs: number;
  maxUpMs: number;
}

export interface KillSummary {
  rounds: number;
  acknowledged: number;
  lost: number;
  unknownStored: number;
  unknownAbsent: number;
  refused: number;
  head: number;
  clientDuplicates: number;
  clientGaps: number;
  clientReconnects: number;
  ms: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Crash-consistency scenario (issue 7): a child server, open-loop publishers over keep-alive fetch,
 * two resuming WebSocket clients connected throughout; SIGKILL at random moments and restart on the same
 * data dir, `rounds` times. Then every acknowledged signal must be stored at its seq with its content,
 * seqs 1..head contiguous, `db check` clean, and each client must hold 1..head exactly once, in order.
 */
export async function runKillScenario(o: KillScenario): Promise<KillSummary> {
  const started = Date.now();
  const server = await ChildServer.start({
    env: { CATALYST_LIMITS_DISABLED: '1' },
    config: { heartbeat_ms: 250 },
  });
  const epoch = ((await (await fetch(`${server.url}/healthz`)).json()) as { epoch: string }).epoch;
  const clients = [0, 1].map(() =>
    new ResumingStream({
      url: () => server.wsUrl,
      key: server.keys.readKey,
      epoch,
      keepSignals: true,
      backoffMs: [10, 200],
    }).start(),
  );
  const publishers = Array.from({ length: o.publishers }, (_, i) =>
    new OpenLoopPublisher({
      name: `p${i}`,
      url: () => server.url,
      key: server.keys.publishKey,
      ratePerS: o.ratePerS / o.publishers,
    }).start(),
  );
  const ackedAt: number[] = [];
  const acked = () => publishers.reduce((n, p) => n + p.count('acked'), 0);
  try {
    for (let round = 0; round < o.rounds; round++) {
      // The chaos schedule itself is time-based on purpose: the kill must land at an arbitrary moment.
      await pause(o.minUpMs + Math.random() * (o.maxUpMs - o.minUpMs));
      ackedAt.push(acked());
      await server.kill('SIGKILL');
      // Every few rounds, check the crashed store before the restart touches it.
      if (round % 5 === 0)
        expect(server.dbCheck(), `db check after kill ${round + 1}`).toMatchObject({ ok: true });
      await server.spawn();
    }
    await pause(o.minUpMs);
    for (const p of publishers) await p.stop();
    ackedAt.push(acked());
    const head = ((await (await fetch(`${server.url}/healthz`)).json()) as { head_seq: number }).head_seq;
    await Promise.all(clients.map((c) => c.until(() => c.last >= head, 30_000, `client at head ${head}`)));
    for (const c of clients) c.stop();
    await server.kill('SIGKILL');
    const check = server.dbCheck();
    expect(check.ok, check.output).toBe(true);

    const report = verifyStore(
      server.dataDir,
      publishers.flatMap((p) => [...p.attempts.values()]),
    );
    expect(report.problems).toEqual([]);
    expect(report.head).toBe(head);
    // Progress in every round: a round where nothing was acknowledged would test nothing.
    const perRound = ackedAt.map((n, i) => n - (ackedAt[i - 1] ?? 0));
    expect(Math.min(...perRound), `acks per round ${perRound.join(',')}`).toBeGreaterThan(0);
    const all = Array.from({ length: head }, (_, i) => i + 1);
    for (const c of clients) {
      expect({ dups: c.duplicates, gaps: c.gaps, unrecovered: c.unrecovered, badEpoch: c.badEpoch }).toEqual({
        dups: 0,
        gaps: [],
        unrecovered: 0,
        badEpoch: 0,
      });
      expect(c.applied).toEqual(all);
      // What the client got is byte-for-byte what is stored.
      for (let s = 1; s <= head; s++) {
        if (JSON.stringify(c.signals.get(s)) !== report.bodies[s - 1])
          throw new Error(`client copy of seq ${s} differs from the store`);
      }
    }
    const summary: KillSummary = {
      rounds: o.rounds,
      acknowledged: report.acked,
      lost: report.lost,
      unknownStored: report.unknownStored,
      unknownAbsent: report.unknownAbsent,
      refused: report.refused,
      head,
      clientDuplicates: clients.reduce((n, c) => n + c.duplicates, 0),
      clientGaps: clients.reduce((n, c) => n + c.gaps.length, 0),
      clientReconnects: clients.reduce((n, c) => n + c.connects - 1, 0),
      ms: Date.now() - started,
    };
    console.log(
      `[chaos] server-kill rounds=${summary.rounds} acknowledged=${summary.acknowledged} lost=${summary.lost} ` +
        `unacked_stored=${summary.unknownStored} unacked_absent=${summary.unknownAbsent} refused=${summary.refused} head=${summary.head} ` +
        `client_duplicates=${summary.clientDuplicates} client_gaps=${summary.clientGaps} client_reconnects=${summary.clientReconnects} orders=n/a ms=${summary.ms}`,
    );
    return summary;
  } finally {
    for (const c of clients) c.stop();
    for (const p of publishers) await p.stop();
  }
}
