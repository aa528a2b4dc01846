import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  ClientFrame,
  CloseCode,
  ErrorCode,
  answerSubscribe,
  caughtUpFrame,
  errorFrame,
  heartbeatFrame,
  helloFrame,
  parseClientFrame,
  parseErrorCode,
  pongFrame,
  writeFrame,
} from '@catalyst-signal/shared';
import { DASHBOARD_WS_PROTOCOL, EVENT_FRAME, type DashboardEvent } from './api.js';
import type { DashboardFeed } from './feed.js';

/**
 * The live feed's WebSocket side: the signal protocol's framing (hello, subscribe -> subscribed + replay +
 * caught_up, heartbeat, ping/pong, error) over the dashboard's own events, so the page uses the shared stream
 * core to resume after a reconnect and to detect gaps. The subscribe rule, the frame writers, the error codes
 * and the close codes are the signal server's (shared/src/stream/rule.ts, writers.ts, close-codes.ts).
 * Authentication happens at the upgrade (server.ts).
 */

export const MAX_SOCKETS = 16;
export const MAX_FRAME_BYTES = 4096;
/** A page that cannot keep up (1 MiB unsent) is closed; it reconnects and resumes. */
const MAX_BUFFERED = 1 << 20;
/** The ring holds this many events: a page further behind reloads its snapshot. */
const MAX_REPLAY = 2000;

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
      const frame = heartbeatFrame(this.feed.headSeq(), Date.now());
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
      helloFrame({
        server_id: 'catalyst-client-dashboard',
        epoch: this.feed.epoch,
        head_seq: this.feed.headSeq(),
        heartbeat_ms: this.heartbeatMs,
        authenticated: true,
        limits: {
          max_frame_bytes: MAX_FRAME_BYTES,
          frames_per_second: 50,
          max_replay: MAX_REPLAY,
          max_backpressure_bytes: MAX_BUFFERED,
        },
        time: Date.now(),
      }),
    );
  }

  private error(sub: Sub, code: ErrorCode, message: string): void {
    this.send(sub, errorFrame(code, message));
  }

  private onMessage(sub: Sub, text: string | undefined): void {
    if (text === undefined) return this.error(sub, ErrorCode.binaryFrame, 'text frames only');
    const p = parseClientFrame(text);
    if (!p.ok) return this.error(sub, parseErrorCode(p.error), p.error.slice(0, 300));
    const f = p.value;
    if (f.type === ClientFrame.ping) return this.send(sub, pongFrame(f.id, Date.now()));
    if (f.type === ClientFrame.auth)
      return this.error(sub, ErrorCode.alreadyAuthenticated, 'authenticated at upgrade');
    // The signal server answers a status frame without admin scope the same way: nobody is admin here.
    if (f.type === ClientFrame.status)
      return this.error(sub, ErrorCode.forbidden, 'no status frames on the dashboard feed');
    if (f.type === ClientFrame.cosign)
      return this.error(sub, ErrorCode.validation, 'the dashboard feed keeps no cosignatures');
    if (f.filters) return this.error(sub, ErrorCode.validation, 'the dashboard feed has no filters');
    sub.live = false;
    const head = this.feed.headSeq();
    const log = { epoch: this.feed.epoch, head, first: this.feed.firstSeq(), maxReplay: MAX_REPLAY };
    const { frame, from } = answerSubscribe(f, log, false);
    this.send(sub, writeFrame(frame));
    if (!frame.recovered) return;
    // The rule refused anything older than the ring's first event (trimmed), so the ring holds all of it.
    for (const e of this.feed.since(from) ?? []) this.send(sub, eventFrame(e));
    this.send(sub, caughtUpFrame(head));
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
      sub.ws.close(CloseCode.slowConsumer.code, CloseCode.slowConsumer.reason);
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
    for (const s of this.subs) s.ws.close(CloseCode.goingAway.code, CloseCode.goingAway.reason);
    this.wss.close();
  }
}

export function eventFrame(e: DashboardEvent): string {
  return JSON.stringify({ type: EVENT_FRAME, event: e });
}
