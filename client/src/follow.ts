import type { Logger } from 'pino';
import type { BrokerEvent, BrokerFollow } from './exchange/types.js';
import type { Journal } from './journal/index.js';
import type { AccountState, VenueDriver } from './venue/index.js';
import { PRESENCE_KEYS, linkState } from './presence.js';

/**
 * Following the broker (docs/broker-events.md): every order event the venue's BrokerEventSource streams is
 * journaled once (by its key) and applied - the intent's status and fill, the fill facts positions derive from.
 * No stream replays, so on start, on every (re)subscription and every `catchUpMs` the venue is asked over REST
 * what happened since a little before the newest event journaled, and that is applied the same way (idempotent).
 * A source without a stream is that read-back alone, every `pollMs`. Each event new to the journal is applied to
 * the venue's warm account state in the same step (venue/warm-delta.ts), so the next decision sees a streamed fill
 * without reading positions. Venues without a source (paper twins) are followed by the executor's reconcile poll
 * as before.
 */

/** How far before the newest journaled event a catch-up reads again: broker clocks and list orders are not exact. */
export const CATCH_UP_OVERLAP_MS = 5 * 60_000;
/** Default interval of the timed catch-up, besides the one on every (re)subscription. */
export const CATCH_UP_EVERY_MS = 60_000;

export interface Follower {
  /** The stream is subscribed now. */
  readonly up: boolean;
  /** Read back what the stream may have missed and apply it; resolves to the number of new events. */
  catchUp(): Promise<number>;
  /** Resolves after the first catch-up (start). */
  readonly ready: Promise<void>;
  /** Resolves once no catch-up is running or queued (one asked for during another runs after it). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface FollowDeps {
  venue: Pick<VenueDriver, 'events' | 'accountState'>;
  journal: Journal;
  log: Logger;
  now?: (() => number) | undefined;
  catchUpMs?: number | undefined;
  /** Test/metrics hook: an event was journaled for the first time. */
  onApplied?: ((e: BrokerEvent, intent: string | undefined) => void) | undefined;
}

/**
 * One catch-up: what the broker did since a little before the newest journaled event, applied oldest first (so an
 * intent's status ends where the broker's is now), each event once. Returns the events that were new.
 */
export async function catchUpEvents(
  journal: Journal,
  eventsSince: (since: number) => Promise<BrokerEvent[]>,
  now: () => number,
  warm?: AccountState | undefined,
): Promise<{ event: BrokerEvent; intent: string | undefined }[]> {
  const last = journal.lastBrokerEventAt();
  const events = await eventsSince(last === undefined ? 0 : last - CATCH_UP_OVERLAP_MS);
  events.sort((a, b) => a.at - b.at || a.filled - b.filled);
  const fresh: { event: BrokerEvent; intent: string | undefined }[] = [];
  for (const e of events) {
    const r = journal.applyBrokerEvent(e, now());
    if (!r.fresh) continue;
    warm?.apply({ kind: 'broker', event: e }, now());
    fresh.push({ event: e, intent: r.intent });
  }
  return fresh;
}

/** Start following the venue's broker, or undefined when the venue has no event source. */
export function followBroker(d: FollowDeps): Follower | undefined {
  const { journal, log, venue } = d;
  const source = venue.events;
  if (!source) return undefined;
  const since = (t: number) => source.eventsSince(t);
  const now = d.now ?? Date.now;
  let closed = false;
  let running: Promise<number> | undefined;

  // A polled source's link state, journaled when it changes (not on every poll).
  let pollState: string | undefined;
  const polled = (state: 'connected' | 'lost', why?: string) => {
    if (source.follow || state === pollState) return;
    pollState = state;
    linkState(journal, PRESENCE_KEYS.broker, state, why);
  };
  const apply = (e: BrokerEvent): boolean => {
    if (closed) return false;
    const r = journal.applyBrokerEvent(e, now());
    if (r.fresh) {
      venue.accountState?.apply({ kind: 'broker', event: e }, now());
      log.info(
        { event: e.event, order: e.clientOrderId, intent: r.intent, filled: e.filled, source: e.source },
        'broker event',
      );
      d.onApplied?.(e, r.intent);
    }
    return r.fresh;
  };

  const catchUpOnce = async (): Promise<number> => {
    if (closed) return 0;
    const fresh = await catchUpEvents(journal, since, now, venue.accountState).catch((e: Error) => {
      // Polled: a failed read is the link being down, as a dropped stream is.
      polled('lost', e.message);
      throw e;
    });
    polled('connected');
    for (const f of fresh) d.onApplied?.(f.event, f.intent);
    if (fresh.length) log.info({ fresh: fresh.length }, 'broker catch-up applied missed events');
    return fresh.length;
  };
  // One at a time: a reconnect during a slow catch-up joins it and then runs once more (it may have missed more).
  let again = false;
  const catchUp = (): Promise<number> => {
    if (closed) return Promise.resolve(0);
    if (running) {
      again = true;
      return running;
    }
    running = catchUpOnce()
      .catch((e: Error) => {
        log.warn({ err: e.message }, 'broker catch-up failed; retried by the next timer or reconnect');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again && !closed) {
          again = false;
          void catchUp();
        }
      });
    return running;
  };

  const stream: BrokerFollow = source.follow?.({
    onEvent: (e) => {
      try {
        apply(e);
      } catch (err) {
        log.warn({ err: (err as Error).message, key: e.key }, 'broker event not applied');
      }
    },
    onLive: () => {
      log.info({ source: source.name }, 'broker stream subscribed; catching up what it may have missed');
      linkState(d.journal, PRESENCE_KEYS.broker, 'connected');
      void catchUp();
    },
    onDown: (why) => {
      log.warn({ why }, 'broker stream down; catching up on reconnect');
      linkState(d.journal, PRESENCE_KEYS.broker, 'lost', why);
    },
  }) ?? { up: false, close: async () => {} };
  const every = source.follow ? (d.catchUpMs ?? CATCH_UP_EVERY_MS) : (source.pollMs ?? CATCH_UP_EVERY_MS);
  const timer = setInterval(() => void catchUp(), every);
  timer.unref();
  const ready = catchUp().then(() => undefined);
  return {
    get up() {
      return stream.up;
    },
    catchUp,
    ready,
    settled: async () => {
      // `running` is the chain ending in the finally that starts a queued run, so it is set again by then.
      while (running) await running;
    },
    close: async () => {
      closed = true;
      clearInterval(timer);
      await stream.close();
      await running;
    },
  };
}
