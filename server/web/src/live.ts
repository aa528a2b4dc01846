import {
  STATUS_LIMITS,
  SUPPORTED_PROTOCOLS_WITH_LOG,
  StreamCore,
  type Signal,
  type StatusFrame,
  type StreamCursor,
} from '@catalyst-signal/shared';
import { streamUrl } from './server-urls.js';
import { tappedWebSocket } from './tapped-socket.js';

export type Connection =
  | { state: 'connecting' }
  | { state: 'live'; serverId: string }
  | { state: 'reconnecting'; reason: string; delayMs: number }
  | { state: 'refused'; message: string };

export interface LiveHandlers {
  status(frame: StatusFrame): void;
  /** A signal applied by the stream core (in seq order, no duplicates, across reconnects). */
  signal(s: Signal): void;
  connection(c: Connection): void;
}

/**
 * A cursor that starts `back` signals behind the head: the first position the core fixes (from hello's
 * head_seq) is moved back so the first subscribe replays the latest signals for the list; after that it is a
 * plain in-memory cursor, advanced by each apply, so a reconnect resumes exactly after the last one shown.
 */
export function tailCursor(back: number): StreamCursor {
  let c: { epoch: string | undefined; seq: number } = { epoch: undefined, seq: 0 };
  return {
    cursor: () => ({ ...c }),
    setCursor: (epoch, seq) => {
      c = { epoch, seq: c.epoch === undefined ? Math.max(0, seq - back) : seq };
    },
    recordGap: (epoch, _from, to) => {
      c = { epoch, seq: to };
    },
  };
}

/**
 * The page's one live connection: the shared stream core (hello, subscribe, resume by seq, gaps, heartbeats,
 * reconnect with backoff) over the browser's WebSocket, authenticated with the admin key in the
 * `bearer.` subprotocol, with the status frames tapped off the same socket.
 */
export function startLive(key: string, h: LiveHandlers): () => void {
  const cursor = tailCursor(STATUS_LIMITS.maxRecent);
  const core = new StreamCore<Signal>({
    urls: [streamUrl()],
    WebSocket: tappedWebSocket({
      status: h.status,
      refused: (message) => {
        h.connection({ state: 'refused', message: `The server refused the status: ${message}` });
        void core.stop('status refused');
      },
    }),
    token: key,
    cursor,
    supportedProtocols: SUPPORTED_PROTOCOLS_WITH_LOG,
    policy: {
      heartbeat_misses: 2,
      reconnect: { initial_delay_ms: 500, factor: 2, max_delay_ms: 15_000, jitter: 'full' },
      start_from: 'head',
    },
    apply: (s, meta) => {
      cursor.setCursor(meta.epoch, meta.seq);
      h.signal(s);
      return Promise.resolve();
    },
  });
  core.on('connected', ({ hello }) => h.connection({ state: 'live', serverId: hello.server_id }));
  core.on('reconnecting', ({ reason, delayMs }) => h.connection({ state: 'reconnecting', reason, delayMs }));
  core.on('fatal', ({ code, message }) =>
    h.connection({
      state: 'refused',
      message: code === 'auth' ? 'The server closed the connection: the key is no longer valid.' : message,
    }),
  );
  h.connection({ state: 'connecting' });
  core.start();
  return () => void core.stop('logged out');
}
