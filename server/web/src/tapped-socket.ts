import {
  ClientFrame,
  ErrorCode,
  ServerFrame,
  StatusFrameSchema,
  type StatusFrame,
  type StreamSocket,
  type WebSocketConstructor,
} from '@catalyst-signal/shared';

export interface StatusTap {
  /** A status frame arrived (validated). */
  status(frame: StatusFrame): void;
  /** The server refused the status request (a key without admin scope). */
  refused(message: string): void;
}

/**
 * The browser's WebSocket, as the stream core gets it injected, with a tap for the admin status: once the
 * server says the socket is authenticated (hello) it asks for status, and `status` frames (and the refusal of
 * that request) go to the page instead of the core. Everything else, signals included, goes to the core
 * untouched: subscribe, resume by seq and gap handling are the core's, the one implementation.
 */
export function tappedWebSocket(tap: StatusTap, Base: typeof WebSocket = WebSocket): WebSocketConstructor {
  return class TappedSocket implements StreamSocket {
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: { code: number; reason: string }) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    private readonly ws: WebSocket;
    private asked = false;

    constructor(url: string, protocols?: string | string[]) {
      this.ws = protocols === undefined ? new Base(url) : new Base(url, protocols);
      this.ws.onopen = (ev) => this.onopen?.(ev);
      this.ws.onerror = (ev) => this.onerror?.(ev);
      this.ws.onclose = (ev) => this.onclose?.({ code: ev.code, reason: ev.reason });
      this.ws.onmessage = (ev) => this.message(ev.data);
    }

    get readyState(): number {
      return this.ws.readyState;
    }

    send(data: string): void {
      this.ws.send(data);
    }

    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }

    private message(data: unknown): void {
      if (typeof data === 'string') {
        let frame: { type?: unknown; authenticated?: unknown; code?: unknown; message?: unknown } | undefined;
        try {
          frame = JSON.parse(data) as typeof frame;
        } catch {
          frame = undefined;
        }
        if (frame?.type === ServerFrame.status) {
          const r = StatusFrameSchema.safeParse(frame);
          if (r.success) tap.status(r.data);
          return;
        }
        // Only the status request can be forbidden on a socket that is already open.
        if (frame?.type === ServerFrame.error && frame.code === ErrorCode.forbidden) {
          tap.refused(typeof frame.message === 'string' ? frame.message : 'forbidden');
          return;
        }
        this.onmessage?.({ data });
        if (frame?.type === ServerFrame.hello && frame.authenticated === true && !this.asked) {
          this.asked = true;
          this.ws.send(JSON.stringify({ type: ClientFrame.status }));
        }
        return;
      }
      this.onmessage?.({ data });
    }
  };
}
