import { z } from 'zod';
import type { Connection } from './connection.js';
import type { Journal } from './journal/index.js';

/**
 * What `run` tells watchers about itself through the journal's meta table (the dashboard reads it over its own
 * connection; `run` may be another process): a heartbeat every RUN_BEAT_MS, and the signal server connection's
 * state at each change. The broker stream's state is `presence.broker`, written by the broker follower in the
 * same shape as the server's. A heartbeat older than RUN_STALE_MS means `run` is gone (killed, hung, host
 * asleep), whatever the last states said. Meta writes are not change-log rows: they say "alive", not "happened".
 */

export const PRESENCE_KEYS = {
  run: 'presence.run',
  server: 'presence.server',
  broker: 'presence.broker',
} as const;

export const RUN_BEAT_MS = 2000;
/** Three missed beats and a margin for a busy disk. */
export const RUN_STALE_MS = 3 * RUN_BEAT_MS + 1000;

export const RunBeatSchema = z.object({
  state: z.enum(['running', 'stopped']),
  at: z.number(),
  pid: z.number().int().positive(),
  started_at: z.number(),
  mode: z.enum(['paper', 'live']),
});
export type RunBeat = z.infer<typeof RunBeatSchema>;

/** A connection's state: server connected | connecting | behind | lost | stopped; broker likewise (its writer). */
export const LinkStateSchema = z.object({
  state: z.string().min(1).max(32),
  /** When it entered this state. */
  since: z.number(),
  detail: z.string().max(300).optional(),
});
export type LinkState = z.infer<typeof LinkStateSchema>;

/**
 * Write a connection's state (the broker follower: `linkState(journal, PRESENCE_KEYS.broker, 'connected')` when
 * its stream is live, `'lost', why` when it drops). Never throws: presence never stops trading.
 */
export function linkState(
  journal: Pick<Journal, 'setMeta'>,
  key: string,
  state: string,
  detail?: string,
  now = Date.now(),
): void {
  const v: LinkState = { state, since: now, ...(detail ? { detail: detail.slice(0, 300) } : {}) };
  try {
    journal.setMeta(key, JSON.stringify(v));
  } catch {
    /* the next change tries again */
  }
}

export interface PresenceWriter {
  /** Say `run` stopped (before the journal closes). */
  stop(): void;
}

/** Start the heartbeat and follow the server connection's state into the journal's meta. */
export function writePresence(
  journal: Journal,
  connection: Connection,
  o: { mode: 'paper' | 'live'; now?: () => number },
): PresenceWriter {
  const now = o.now ?? Date.now;
  const startedAt = now();
  let stopped = false;
  // Presence is a courtesy to watchers: a failed write (disk full, journal closing) never stops trading.
  const write = (key: string, value: object) => {
    try {
      journal.setMeta(key, JSON.stringify(value));
    } catch {
      /* the next beat tries again */
    }
  };
  const beat = (state: RunBeat['state']) =>
    write(PRESENCE_KEYS.run, { state, at: now(), pid: process.pid, started_at: startedAt, mode: o.mode });
  let last = '';
  const link = (state: string, detail?: string) => {
    if (stopped) return;
    const key = `${state}|${detail ?? ''}`;
    if (key === last) return;
    last = key;
    linkState(journal, PRESENCE_KEYS.server, state, detail, now());
  };
  beat('running');
  link('connecting');
  const timer = setInterval(() => beat('running'), RUN_BEAT_MS);
  timer.unref();
  connection.on('hello', () => link('connected', 'catching up'));
  connection.on('caught_up', () => link('connected'));
  connection.on('subscribed', (f: { recovered: boolean; reason?: string }) => {
    if (!f.recovered) link('behind', f.reason);
  });
  connection.on('gap', () => link('behind', 'gap in seq'));
  connection.on('reconnecting', (r: { why: string }) => link('lost', r.why));
  connection.on('fatal', (e: Error) => link('stopped', e.message));
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      beat('stopped');
    },
  };
}
