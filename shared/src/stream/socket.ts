/**
 * The part of a WebSocket the stream core uses: the WHATWG subset that both a browser's `WebSocket` and the
 * `ws` package's class implement (on* handlers, send, close, readyState), so either can be injected.
 * No DOM or Node types here: the shared package compiles for both.
 */

/** readyState values (the same numbers in every implementation). */
export const SocketState = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

export interface StreamMessageEvent {
  /** A string for text frames; anything else (Blob, ArrayBuffer, Buffer) is a binary frame and is ignored. */
  data: unknown;
}
export interface StreamCloseEvent {
  code: number;
  reason: string;
}

/**
 * A handler type checked bivariantly (method syntax), so the DOM's `(ev: MessageEvent) => any` and ws's
 * `(event: WebSocket.MessageEvent) => void` both fit without casts: their events carry more than we read.
 */
type Handler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

export interface StreamSocket {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<StreamMessageEvent> | null;
  onclose: Handler<StreamCloseEvent> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the TCP connection at once, no closing handshake. Used when present. */
  terminate?: () => void;
}

/** `new WebSocket(url, protocols)`: the browser's constructor, or a `ws` subclass (headers, timeouts). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => StreamSocket;

const noop = (): void => undefined;

/**
 * Stop listening to a socket and get rid of it. `graceful` (stopping): an open socket gets a normal close
 * handshake. Otherwise (silence, a socket we gave up on): no waiting for a peer that may be dead, the
 * connection is dropped at once where the implementation can (`ws` terminate), else closed.
 * Handlers become no-ops rather than null: `ws` throws an unhandled 'error' when nobody listens.
 */
export function discardSocket(
  ws: StreamSocket,
  graceful: { code: number; reason: string } | undefined,
): void {
  ws.onopen = noop;
  ws.onmessage = noop;
  ws.onclose = noop;
  ws.onerror = noop;
  try {
    if (graceful && ws.readyState === SocketState.open) ws.close(graceful.code, graceful.reason);
    else if (ws.terminate) ws.terminate();
    else if (ws.readyState === SocketState.connecting || ws.readyState === SocketState.open) ws.close();
  } catch {
    /* already closed: nothing to release */
  }
}
