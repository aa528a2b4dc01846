import type { TemplatedApp } from 'uWebSockets.js';
import type { SocketView } from '../status/snapshot.js';
import type { StatusSink } from '../status/hub.js';
import type { Ws } from './socket-state.js';

/** uWS topic of the sockets that asked for status (admin only; stream.ts checks the scope). */
export const STATUS_TOPIC = 'status';

/** One socket as the status page shows it: read from its state and its send buffer, never its secrets. */
export function socketView(ws: Ws): SocketView {
  const d = ws.getUserData();
  const p = d.principal;
  const sub = d.sub;
  return {
    id: d.id,
    ip: d.ip,
    openedAt: d.openedAt,
    principal: p && { id: p.id, name: p.name, kind: p.kind, scopes: p.scopes },
    state: !p ? 'auth' : !sub ? 'idle' : sub.live ? 'live' : 'replaying',
    cursor: sub && !sub.live ? sub.cursor : undefined,
    bufferedBytes: d.closed ? 0 : ws.getBufferedAmount(),
    filtered: sub?.filter !== undefined,
    watchingStatus: d.watchingStatus,
  };
}

/** The hub's view of the stream: the open sockets, and one publish to every watcher. */
export function statusSink(app: TemplatedApp, sockets: ReadonlySet<Ws>): StatusSink {
  return {
    watchers: () => app.numSubscribers(STATUS_TOPIC),
    *sockets() {
      for (const ws of sockets) if (!ws.getUserData().closed) yield socketView(ws);
    },
    send: (json) => void app.publish(STATUS_TOPIC, json),
  };
}
