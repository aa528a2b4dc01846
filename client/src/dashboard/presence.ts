import { LinkStateSchema, PRESENCE_KEYS, RUN_STALE_MS, RunBeatSchema } from '../presence.js';
import type { Journal } from '../journal/index.js';
import type { Presence } from './api.js';

/**
 * The header's truth from the journal's meta (client/src/presence.ts). Pure but for `pidAlive`: a heartbeat is
 * trusted only while it is fresh AND its pid exists, so a killed `run` turns red at the next look, not after
 * the staleness window. What `run` last wrote about the server is not repeated once `run` is gone: nobody
 * is connected then.
 */

export interface PresenceInputs {
  run: string | undefined;
  server: string | undefined;
  broker: string | undefined;
  lastSignalAt: number | null;
  halted: string | null;
  killSwitch: boolean;
}

function parseJson<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  s?: string,
) {
  if (s === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(s));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function presenceView(i: PresenceInputs, now: number, pidAlive: (pid: number) => boolean): Presence {
  const beat = parseJson(RunBeatSchema, i.run);
  const runState: Presence['run']['state'] = !beat
    ? 'never'
    : beat.state === 'stopped'
      ? 'stopped'
      : now - beat.at > RUN_STALE_MS || !pidAlive(beat.pid)
        ? 'stale'
        : 'alive';
  const alive = runState === 'alive';
  const link = (s: string | undefined): Presence['server'] => {
    const l = parseJson(LinkStateSchema, s);
    return l
      ? { state: l.state, since: l.since, detail: l.detail ?? null }
      : { state: 'unknown', since: null, detail: null };
  };
  const server = alive ? link(i.server) : { state: 'unknown', since: null, detail: 'run is not running' };
  const broker = alive ? link(i.broker) : { state: 'unknown', since: null, detail: null };
  const bad =
    !alive ||
    i.halted !== null ||
    server.state === 'lost' ||
    server.state === 'stopped' ||
    broker.state === 'lost';
  const warn =
    server.state !== 'connected' ||
    i.killSwitch ||
    (broker.state !== 'connected' && broker.state !== 'unknown');
  return {
    level: bad ? 'bad' : warn ? 'warn' : 'ok',
    run: { state: runState, at: beat?.at ?? null, mode: beat?.mode ?? null },
    server,
    broker,
    last_signal_at: i.lastSignalAt,
    halted: i.halted === null ? null : i.halted.slice(0, 300),
    kill_switch: i.killSwitch,
  };
}

/** Does a process with this pid exist on this machine (the journal is local, so `run` is too)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export function readPresence(journal: Journal, now: number): Presence {
  return presenceView(
    {
      run: journal.meta(PRESENCE_KEYS.run),
      server: journal.meta(PRESENCE_KEYS.server),
      broker: journal.meta(PRESENCE_KEYS.broker),
      lastSignalAt: journal.dashboard().lastReceivedAt(),
      halted: journal.halted() ?? null,
      killSwitch: journal.killSwitch().on,
    },
    now,
    pidAlive,
  );
}
