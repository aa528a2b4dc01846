import type { EventEmitter } from 'node:events';
import type { Context } from '../context.js';
import type { Journal } from '../journal/index.js';
import { watchConnection } from './connection-watch.js';
import { NOTIFY_STATE_META, Notifier } from './index.js';
import { LAST_HALT_META } from './halt.js';
import { ChangeFeed } from './change-feed.js';
import { startApprovalTopic } from './approval-ntfy.js';

export type { Notifier } from './index.js';

/**
 * Notifications inside `run`: the notifier (its delivery state written to the journal's meta for `status`), the
 * journal change feed (trades, fills, refusals, kill switch, daily summary), the connection watch, and detach() for stop, after which the journal may close (the notifier itself stays usable
 * for the halt message).
 */
export function startNotifications(ctx: Context, journal: Journal, live: boolean) {
  let attached = true;
  // Approval mode's answer topic (approval.ntfy_url): followed while `run` runs, buttons on ntfy messages.
  const topic = ctx.config.approval.ntfy_url
    ? startApprovalTopic({
        url: ctx.config.approval.ntfy_url,
        env: process.env,
        dataDir: ctx.dataDir,
        journal,
        log: ctx.log,
      })
    : undefined;
  const notifier = new Notifier(ctx.config.notify, {
    approvalActions: topic?.actions,
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
  // No target, no polling: a client without notify: pays nothing for it.
  const feed = notifier.targetCount
    ? new ChangeFeed(journal, notifier, ctx.config, live ? 'LIVE' : 'paper')
    : undefined;
  feed?.start();
  const unwatch: (() => void)[] = [];
  return {
    notifier,
    watch(c: EventEmitter) {
      unwatch.push(watchConnection(c, notifier, { lostAfterMs: ctx.config.notify_options.lost_after_ms }));
    },
    detach() {
      for (const u of unwatch.splice(0)) u();
      topic?.stop();
      feed?.stop();
      notifier.persistNow();
      attached = false;
    },
  };
}
