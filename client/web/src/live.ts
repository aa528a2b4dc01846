import { StreamCore, frameCodec, memoryCursor, type WebSocketConstructor } from '@catalyst-signal/shared';
import { DASHBOARD_PATHS, EventFrameSchema, type DashboardEvent } from '../../src/dashboard/api.js';

/**
 * The live feed, through the SAME stream core the CLI uses (shared/src/stream): hello, subscribe from the
 * last applied seq, gap detection (seq and heartbeat), silence watchdog, reconnect with backoff. The page's
 * cursor starts at the snapshot's head, so every event after the snapshot is applied exactly once; a
 * dashboard restart (new epoch) or a resume the dashboard cannot honour reloads the snapshot instead.
 */

const codec = frameCodec({
  itemSchema: EventFrameSchema,
  toItem: (f) => ({ seq: f.event.seq, epoch: f.event.epoch, item: f.event }),
});

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface LiveHandlers {
  onEvent(e: DashboardEvent): void;
  onState(s: LiveState): void;
  /** The stream cannot continue from here (dashboard restarted, events trimmed): reload the snapshot. */
  onReset(why: string): void;
}

export function startLive(
  token: string,
  from: { epoch: string; head_seq: number },
  h: LiveHandlers,
): { stop(): void } {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${DASHBOARD_PATHS.stream}`;
  const core = new StreamCore<DashboardEvent>({
    urls: [url],
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    token,
    policy: {
      heartbeat_misses: 2,
      reconnect: { initial_delay_ms: 200, factor: 2, max_delay_ms: 5000, jitter: 'full' },
      start_from: 'head',
    },
    cursor: memoryCursor(from.epoch, from.head_seq),
    codec,
    apply: (e) => {
      h.onEvent(e);
      return Promise.resolve();
    },
    onBehind: (sub) => {
      h.onReset(`the dashboard cannot resume from here (${sub.reason ?? 'unrecovered'})`);
      return Promise.resolve(false);
    },
  });
  core.on('caught_up', () => h.onState('live'));
  core.on('reconnecting', () => h.onState('reconnecting'));
  core.on('fatal', ({ message }) => h.onReset(message));
  h.onState('connecting');
  core.start();
  return { stop: () => void core.stop('page reset') };
}
