import { expect } from 'vitest';
import type { Journal } from '../../src/journal/index.js';
import { clientOrderId } from '../../src/order-id.js';
import type { ChildServer } from '../../../server/test/helpers/child-server.js';
import type { ClientProc } from '../helpers/client-process.js';
import { pause, peekJournal, pollUntil, type JournalPeek } from '../helpers/chaos.js';

/**
 * The venue-independent half of the client SIGKILL scenarios (client-kill-scenario.ts for Binance,
 * alpaca-kill-scenario.ts for Alpaca): a steady publisher on the real server, the kill/restart rounds, the
 * log tally, the last undisturbed run, and the journal-side invariants. Each scenario brings its venue:
 * the emulator, the classifications, and how an exchange order compares with its journaled intent.
 */

export interface KillRoundsOptions {
  rounds: number;
  /** The client runs a random time in [minUpMs, maxUpMs] from spawn, then gets SIGKILL. */
  minUpMs: number;
  maxUpMs: number;
  /** A new classification every this many ms (time-driven: the publisher does not wait for the client). */
  publishEveryMs: number;
}

export interface Publisher {
  readonly published: number;
  readonly republished: number;
  /** Stop publishing and wait for the last post. */
  stop(): Promise<void>;
}

/**
 * Publishes `make(i)` every `everyMs`; every 7th post republishes an earlier classification with its source_id
 * (the server must answer with the original seq). `make` must return the same source_id for the same i.
 */
export function startPublisher(
  server: ChildServer,
  make: (i: number) => Record<string, unknown>,
  everyMs: number,
): Publisher {
  const seqOf = new Map<string, number>();
  const state = { published: 0, republished: 0, publishing: true };
  const post = async (body: object) => {
    const res = await fetch(`${server.url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.keys.publishKey}` },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { seq: number; duplicate: boolean; source_id: string },
    };
  };
  const run = (async () => {
    const indexOf = new Map<string, number>();
    for (let i = 1; state.publishing; i++) {
      if (i % 7 === 0 && seqOf.size > 0) {
        const ids = [...seqOf.keys()];
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        const r = await post({ ...make(indexOf.get(id)!), classified_at: new Date().toISOString() });
        expect(r.status, `republish ${id}`).toBe(200);
        expect(r.body).toMatchObject({ duplicate: true, seq: seqOf.get(id) });
        state.republished++;
      } else {
        const r = await post(make(i));
        expect(r.status, `publish ${i}`).toBe(201);
        seqOf.set(r.body.source_id, r.body.seq);
        indexOf.set(r.body.source_id, i);
        state.published++;
      }
      await pause(everyMs);
    }
  })();
  return {
    get published() {
      return state.published;
    },
    get republished() {
      return state.republished;
    },
    stop: async () => {
      state.publishing = false;
      await run;
    },
  };
}

/** Counts, across every run's logs, the order timeouts the executor reconciled and the restarts' resends. */
export class LogTally {
  timeouts = 0;
  resentAtRestart = 0;
  /** Adds one run's logs; returns how many timeouts that run left unresolved (it died inside the reconcile). */
  add(logs: Record<string, unknown>[]): number {
    const unresolved = new Set<string>();
    for (const l of logs) {
      if (l['msg'] === 'order outcome unknown; reconciling') {
        this.timeouts++;
        unresolved.add(String(l['clientOrderId']));
      }
      if (l['msg'] === 'order recorded') unresolved.delete(String(l['clientOrderId']));
      if (l['msg'] === 'intent never reached the exchange; sending it now') this.resentAtRestart++;
    }
    return unresolved.size;
  }
}

/**
 * `rounds` times: `before(round)`, spawn the client, let it run a random time, SIGKILL it, then `after` with its
 * logs. The schedule is time-based on purpose: the kill must land at an arbitrary moment.
 */
export async function killRounds(
  o: KillRoundsOptions,
  spawn: (round: number) => ClientProc,
  hooks: {
    before?: (round: number) => void;
    after: (round: number, logs: Record<string, unknown>[]) => void;
    /** Start the up time at this log line instead of at spawn (a client whose startup eats most of a round). */
    ready?: (l: Record<string, unknown>) => boolean;
    /** This round's up time, instead of a random one (a round that waits for the client to crash itself). */
    upMs?: (round: number) => number | undefined;
    /**
     * Runs alongside the up time from `ready` on; the kill waits for it too (so it must wait for a condition, and
     * finish or throw). `alive()` turns false when the client died by itself first: the hook gives up then.
     */
    during?: (round: number, alive: () => boolean) => Promise<void>;
  },
): Promise<void> {
  for (let round = 0; round < o.rounds; round++) {
    hooks.before?.(round);
    const c = spawn(round);
    if (hooks.ready) await c.waitLog(hooks.ready, 60_000).catch(() => undefined); // or it died first
    const up = hooks.upMs?.(round) ?? o.minUpMs + Math.random() * (o.maxUpMs - o.minUpMs);
    let alive = true;
    const during = hooks.during?.(round, () => alive) ?? Promise.resolve();
    try {
      await Promise.race([Promise.all([pause(up), during]), c.exited]);
    } finally {
      alive = false;
      c.child.kill('SIGKILL');
    }
    await during;
    const ex = await c.exited;
    expect(
      ex.signal,
      `round ${round}: the client must still be running when killed (logs: ${JSON.stringify(c.logs.slice(-3))})`,
    ).toBe('SIGKILL');
    hooks.after(round, c.logs);
  }
}

export async function headSeq(server: ChildServer): Promise<number> {
  return ((await (await fetch(`${server.url}/healthz`)).json()) as { head_seq: number }).head_seq;
}

/**
 * The last, undisturbed run: wait until it has decided every seq up to `head` and `settled(peek)` holds, then
 * stop it with SIGTERM (it must exit 0). Returns its logs.
 */
export async function lastRun(
  spawn: () => ClientProc,
  journalPath: string,
  head: number,
  settled: (p: JournalPeek) => boolean,
  /** Catch-up allowance per seq it starts behind (a broker snapshot per signal makes some venues slower). */
  perSeqMs = 500,
): Promise<Record<string, unknown>[]> {
  const last = spawn();
  const behind = head - (peekJournal(journalPath)?.cursorSeq ?? 0);
  // Up first (its SIGTERM handler installed, its reconcile done): a journal the killed rounds already left at the
  // head would otherwise pass the poll below at once and the SIGTERM would reach a process still loading.
  await last.waitLog((l) => l['msg'] === 'subscribing', 60_000);
  await pollUntil(
    'the last client to decide every seq and settle every intent',
    () => {
      const p = peekJournal(journalPath);
      return p && p.cursorSeq === head && settled(p);
    },
    { timeoutMs: 30_000 + perSeqMs * behind },
  ).catch((e: Error) => {
    throw new Error(
      `${e.message} (head ${head}, ${behind} behind at restart, now ${JSON.stringify(peekJournal(journalPath))}; last logs ${JSON.stringify(last.logs.slice(-4))})`,
    );
  });
  last.child.kill('SIGTERM');
  const ex = await last.exited;
  expect(
    ex.code,
    `clean shutdown of the last run (signal ${ex.signal}; last logs ${JSON.stringify(last.logs.slice(-4))})`,
  ).toBe(0);
  return last.logs;
}

/**
 * Journal-side invariants: every seq 1..head decided exactly once, and every leg of every accepted decision has
 * its intent under the deterministic id. Returns the accepted decisions and the intents by id.
 */
export function checkDecisions(j: Journal, head: number) {
  const salt = j.installSalt();
  const epoch = j.cursor().epoch!;
  const decisions = j.decisions({ limit: 1_000_000 }).reverse();
  expect(
    decisions.map((d) => d.seq),
    'every seq decided exactly once',
  ).toEqual(Array.from({ length: head }, (_, k) => k + 1));
  const intents = j.allIntents();
  const byId = new Map(intents.map((i) => [i.client_order_id, i]));
  const accepted = decisions.filter((d) => d.verdict === 'trade');
  for (const d of accepted) {
    for (const leg of JSON.parse(d.legs) as { leg: string }[]) {
      const id = clientOrderId(salt, epoch, d.seq, leg.leg);
      expect(byId.get(id), `intent for accepted seq ${d.seq} leg ${leg.leg}`).toBeDefined();
    }
  }
  return { decisions, accepted, intents, byId };
}

/**
 * Exchange orders beyond one per (seq, leg). Keyed by the (seq, leg) in the id's tail (`-<seq base36>-<leg>`),
 * so a second order for one leg under another id (another salt or epoch hash) counts too, not only a reused id.
 */
export function duplicateOrders(clientOrderIds: string[]): number {
  const perLeg = new Map<string, number>();
  for (const id of clientOrderIds) {
    const m = /-([0-9a-z]+)-([a-z])$/.exec(id);
    const k = m ? `${parseInt(m[1]!, 36)}/${m[2]}` : id;
    perLeg.set(k, (perLeg.get(k) ?? 0) + 1);
  }
  return [...perLeg.values()].reduce((n, c) => n + c - 1, 0);
}

/** One line of figures to quote. */
export function figures(name: string, f: Record<string, number>): string {
  return `${name}: ${Object.entries(f)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
}
