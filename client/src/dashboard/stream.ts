import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ClientFrame,
  PROTOCOL_VERSION,
  ServerFrame,
  UnrecoverableReason,
  parseClientFrame,
} from '@catalyst-signal/shared';
import { DASHBOARD_WS_PROTOCOL, EVENT_FRAME, type DashboardEvent } from './api.js';
import type { DashboardFeed } from './feed.js';

/**
 * The live feed's WebSocket side: the signal protocol's framing (hello, subscribe -> subscribed + replay +
 * caught_up, heartbeat, ping/pong, error) over the dashboard's own events, so the page uses the shared stream
 * core to resume after a reconnect and to detect gaps. Authentication happens at the upgrade (server.ts).
 */

export const MAX_SOCKETS = 16;
export const MAX_FRAME_BYTES = 4096;
/** A page that cannot keep up (1 MiB unsent) is closed; it reconnects and resumes. */
const MAX_BUFFERED = 1 << 20;
const CLOSE_SLOW = 1013;

interface Sub {
  ws: WebSocket;
  /** Subscribed and caught up: live events go out. */
  live: boolean;
}

export class DashboardStream {
  private readonly wss: WebSocketServer;
  private readonly subs = new Set<Sub>();
  private readonly hb: NodeJS.Timeout;

  constructor(
    private readonly feed: DashboardFeed,
    private readonly heartbeatMs: number,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      // The page offers [catalyst.v1, bearer.<token>]: answer the first so the token is never echoed back.
      handleProtocols: (offered) => (offered.has(DASHBOARD_WS_PROTOCOL) ? DASHBOARD_WS_PROTOCOL : false),
    });
    this.hb = setInterval(() => {
      const frame = JSON.stringify({
        type: ServerFrame.heartbeat,
        head_seq: this.feed.headSeq(),
        time: Date.now(),
      });
      for (const s of this.subs) this.send(s, frame);
    }, heartbeatMs);
    this.hb.unref();
  }

  get size(): number {
    return this.subs.size;
  }

  /** Called by server.ts once the upgrade request is authenticated. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.subs.size >= MAX_SOCKETS || this.suspended) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(ws));
  }

  private open(ws: WebSocket): void {
    const sub: Sub = { ws, live: false };
    this.subs.add(sub);
    ws.on('close', () => this.subs.delete(sub));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => this.onMessage(sub, isBinary ? undefined : data.toString()));
    this.send(
      sub,
      JSON.stringify({
        type: ServerFrame.hello,
        protocol: PROTOCOL_VERSION,
        server_id: 'catalyst-client-dashboard',
        epoch: this.feed.epoch,
        head_seq: this.feed.headSeq(),
        heartbeat_ms: this.heartbeatMs,
        authenticated: true,
        limits: {
          max_frame_bytes: MAX_FRAME_BYTES,
          frames_per_second: 50,
          max_replay: 2000,
          max_backpressure_bytes: MAX_BUFFERED,
        },
        time: Date.now(),
      }),
    );
  }

  private error(sub: Sub, code: string, message: string): void {
    this.send(sub, JSON.stringify({ type: ServerFrame.error, code, message }));
  }

  private onMessage(sub: Sub, text: string | undefined): void {
    if (text === undefined) return this.error(sub, 'bad_frame', 'text frames only');
    const p = parseClientFrame(text);
    if (!p.ok) return this.error(sub, 'bad_frame', p.error.slice(0, 300));
    const f = p.value;
    if (f.type === ClientFrame.ping) {
      return this.send(sub, JSON.stringify({ type: ServerFrame.pong, id: f.id, time: Date.now() }));
    }
    if (f.type === ClientFrame.auth)
      return this.error(sub, 'already_authenticated', 'authenticated at upgrade');
    // The signal server's admin status frame (shared/src/status.ts) has no meaning on the dashboard's feed.
    if (f.type === ClientFrame.status) return this.error(sub, 'unsupported', 'no status frames here');
    if (f.filters) return this.error(sub, 'unsupported', 'the dashboard feed has no filters');
    const head = this.feed.headSeq();
    const from = f.from_seq ?? head;
    const base = {
      type: ServerFrame.subscribed,
      epoch: this.feed.epoch,
      from_seq: from,
      head_seq: head,
      first_seq: this.feed.firstSeq(),
      filtered: false,
    };
    const refuse = (reason: UnrecoverableReason) => {
      sub.live = false;
      this.send(sub, JSON.stringify({ ...base, replay_count: 0, recovered: false, reason }));
    };
    if (f.epoch !== undefined && f.epoch !== this.feed.epoch)
      return refuse(UnrecoverableReason.epochMismatch);
    if (from > head) return refuse(UnrecoverableReason.future);
    const replay = this.feed.since(from);
    if (!replay) return refuse(UnrecoverableReason.trimmed);
    this.send(sub, JSON.stringify({ ...base, replay_count: replay.length, recovered: true }));
    for (const e of replay) this.send(sub, eventFrame(e));
    this.send(sub, JSON.stringify({ type: ServerFrame.caughtUp, seq: head }));
    sub.live = true;
  }

  /** New events from the feed: to every caught-up page, in seq order. */
  broadcast(events: readonly DashboardEvent[]): void {
    if (!events.length) return;
    const frames = events.map(eventFrame);
    for (const s of this.subs) if (s.live) for (const f of frames) this.send(s, f);
  }

  private send(sub: Sub, frame: string): void {
    if (sub.ws.readyState !== sub.ws.OPEN) return;
    if (sub.ws.bufferedAmount > MAX_BUFFERED) {
      sub.live = false;
      sub.ws.close(CLOSE_SLOW, 'slow consumer');
      return;
    }
    sub.ws.send(frame);
  }

  private suspended = false;

  /**
   * Drop every page's socket and refuse new ones (503) until resumeAccepting(): the network going away, as a
   * page sees it. Used by the browser test to make a page miss events and resume.
   */
  suspend(): void {
    this.suspended = true;
    for (const s of this.subs) s.ws.terminate();
  }
  resumeAccepting(): void {
    this.suspended = false;
  }

  close(): void {
    clearInterval(this.hb);
    for (const s of this.subs) s.ws.close(1001, 'dashboard stopping');
    this.wss.close();
  }
}

export function eventFrame(e: DashboardEvent): string {
  return JSON.stringify({ type: EVENT_FRAME, event: e });
}
