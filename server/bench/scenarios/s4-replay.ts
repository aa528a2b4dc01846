/**
 * S4: catching up. (a) one subscriber that missed `single` signals; (b) `clients` subscribers that each missed
 * `missed`, all reconnecting at once. Servers without recovery (the ws peers) are reported as such, not run.
 */
import type { Profile } from '../config.js';
import type { CountResult, ResumeResult, WindowReport } from '../gen/protocol.js';
import { sleep } from '../lib/publisher.js';
import type { ServerName } from '../lib/servers.js';
import { connectClients } from './fanout.js';
import { fmt, withSession, type Log, type Session } from './session.js';

export const RECOVERY: Record<ServerName, string> = {
  catalyst: 'SQLite-backed resume from from_seq',
  'ws-naive': 'none: from_seq is ignored, missed signals are lost',
  'ws-once': 'none: from_seq is ignored, missed signals are lost',
  socketio: 'connectionStateRecovery: in-memory buffer, 2 min, lost on restart',
  'catalyst-unsigned': 'SQLite-backed resume from from_seq',
};

export interface S4Case {
  clients: number;
  missed: number;
  ms: number;
  caughtUp: number;
  signalsPerS: number;
  gaps: number;
  dups: number;
  unrecovered: number;
  errors: string[];
}
export interface S4Run {
  server: ServerName;
  recovery: string;
  single: S4Case | null;
  many: S4Case | null;
  error?: string;
}

async function catchUp(
  s: Session,
  clients: number,
  missed: number,
  p: Profile,
  timeoutMs: number,
): Promise<S4Case> {
  s.gens = await connectClients(s.server, clients, p.perGen, p.sampleEvery);
  const first = await s.pub.backlog(1, 1);
  const seen = Date.now() + 10_000;
  const lowest = async () =>
    Math.min(
      ...(await Promise.all(s.gens.map((g) => g.call<CountResult>({ op: 'count' })))).map(
        (c) => c.lastSeqMin,
      ),
    );
  while (Date.now() < seen && (await lowest()) < first) await sleep(20);
  await Promise.all(s.gens.map((g) => g.call({ op: 'drop' })));
  await sleep(300);
  const head = await s.pub.backlog(missed, 500);
  await Promise.all(s.gens.map((g) => g.call({ op: 'window', fromSeq: first + 1 })));
  const results = await Promise.all(
    s.gens.map((g) => g.call<ResumeResult>({ op: 'resume', headSeq: head, timeoutMs })),
  );
  const reports = await Promise.all(s.gens.map((g) => g.call<WindowReport>({ op: 'report' })));
  const ms = Math.max(...results.map((r) => r.ms));
  const caughtUp = results.reduce((a, r) => a + r.caughtUp, 0);
  return {
    clients,
    missed,
    ms,
    caughtUp,
    signalsPerS: caughtUp === clients ? (clients * missed) / (ms / 1000) : 0,
    gaps: reports.reduce((a, r) => a + r.gaps, 0),
    dups: reports.reduce((a, r) => a + r.dups, 0),
    unrecovered: results.reduce((a, r) => a + r.unrecovered, 0),
    errors: reports.flatMap((r) => r.errors).slice(0, 3),
  };
}

export async function runS4(p: Profile, log: Log): Promise<S4Run[]> {
  const cfg = p.s4;
  if (!cfg) return [];
  const runs: S4Run[] = [];
  for (const server of p.servers) {
    const run: S4Run = { server, recovery: RECOVERY[server], single: null, many: null };
    runs.push(run);
    if (server === 'ws-naive' || server === 'ws-once') {
      log(`S4 ${server}: no recovery (reported, not run)`);
      continue;
    }
    try {
      run.single = await withSession(server, 'normal', (s) => catchUp(s, 1, cfg.single, p, cfg.timeoutMs));
      log(
        `S4 ${server} 1 client x ${cfg.single} missed: ${fmt(run.single.ms)} ms, ${fmt(run.single.signalsPerS, 0)} signals/s, caught up ${run.single.caughtUp}/1${run.single.errors.length ? ` ! ${run.single.errors[0]}` : ''}`,
      );
      run.many = await withSession(server, 'normal', (s) =>
        catchUp(s, cfg.clients, cfg.missed, p, cfg.timeoutMs),
      );
      log(
        `S4 ${server} ${cfg.clients} clients x ${cfg.missed} missed: all caught up in ${fmt(run.many.ms)} ms ` +
          `(${run.many.caughtUp}/${cfg.clients}), gaps ${run.many.gaps} dups ${run.many.dups}${run.many.errors.length ? ` ! ${run.many.errors[0]}` : ''}`,
      );
    } catch (err) {
      run.error = String(err);
      log(`S4 ${server} FAILED: ${String(err).slice(0, 300)}`);
    }
  }
  return runs;
}
