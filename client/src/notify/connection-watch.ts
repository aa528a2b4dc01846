import type { EventEmitter } from 'node:events';
import { connectionBackMessage, connectionLostMessage } from './messages.js';
import type { Notifier } from './index.js';

/**
 * connection_lost once the signal server has been unreachable for `lostAfterMs` (a short blip says nothing), and
 * connection_back when it says hello again after a reported loss. Reads the Connection's events only.
 */
export function watchConnection(
  c: EventEmitter,
  notifier: Notifier,
  o: { lostAfterMs: number; now?: () => number },
): () => void {
  const now = o.now ?? Date.now;
  let since: number | undefined;
  let why = '';
  let url = '';
  let reported = false;
  let timer: NodeJS.Timeout | undefined;
  const onLost = (r: { why: string; url: string }) => {
    why = r.why;
    url = r.url;
    if (since !== undefined) return;
    since = now();
    timer = setTimeout(() => {
      if (since === undefined) return;
      reported = true;
      notifier.emit(connectionLostMessage(now(), { since, why, url }));
    }, o.lostAfterMs);
    timer.unref();
  };
  const onHello = (_h: unknown, _skew: number, at: string) => {
    clearTimeout(timer);
    if (reported && since !== undefined) notifier.emit(connectionBackMessage(now(), { since, url: at }));
    since = undefined;
    reported = false;
  };
  c.on('reconnecting', onLost);
  c.on('hello', onHello);
  return () => {
    clearTimeout(timer);
    c.off('reconnecting', onLost);
    c.off('hello', onHello);
  };
}
