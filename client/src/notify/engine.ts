import type { EventEmitter } from 'node:events';
import type { Context } from '../context.js';
import type { Journal } from '../journal/index.js';
import { watchConnection } from './connection-watch.js';
import { NOTIFY_STATE_META, Notifier } from './index.js';
import { LAST_HALT_META } from './halt.js';

export type { Notifier } from './index.js';

/**
 * Notifications inside `run`: the notifier (its delivery state written to the journal's meta for `status`), the
 * connection watch, and detach() for stop, after which the journal may close (the notifier itself stays usable
 * for the halt message).
 */
export function startNotifications(ctx: Context, journal: Journal) {
  let attached = true;
  const notifier = new Notifier(ctx.config.notify, {
    env: process.env,
    log: ctx.log,
    queueMax: ctx.config.notify_options.queue_max,
    persist: (states) => {
      if (attached) journal.setMeta(NOTIFY_STATE_META, JSON.stringify(states));
    },
  });
  // This run got past every start check: a halt recorded by an earlier run is history now.
  journal.setMeta(LAST_HALT_META, undefined);
  if (notifier.targetCount) notifier.persistNow();
  else journal.setMeta(NOTIFY_STATE_META, undefined);
  const unwatch: (() => void)[] = [];
  return {
    notifier,
    watch(c: EventEmitter) {
      unwatch.push(watchConnection(c, notifier, { lostAfterMs: ctx.config.notify_options.lost_after_ms }));
    },
    detach() {
      for (const u of unwatch.splice(0)) u();
      notifier.persistNow();
      attached = false;
    },
  };
}
