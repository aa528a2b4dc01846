import type { StreamCloseEvent, StreamMessageEvent, StreamSocket, StreamClock } from '../../src/index.js';

/**
 * An in-memory WebSocket the test drives from the server's side (open, frames, close), and a manual clock.
 * The stream core is pure logic over its injected transport and time, so its unit tests need nothing else;
 * the real-socket behaviour is proven by client/test (the Node adapter against real servers).
 */
export class ScriptedSocket implements StreamSocket {
  static all: ScriptedSocket[] = [];
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: StreamMessageEvent) => void) | null = null;
  onclose: ((ev: StreamCloseEvent) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closedBy: { code?: number | undefined; reason?: string | undefined } | undefined;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    ScriptedSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number, reason?: string): void {
    this.closedBy = { code, reason };
    this.readyState = 3;
  }
  // --- the server's side ---
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: object): void {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  error(message: string): void {
    this.onerror?.({ message });
  }
  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  subscribes(): Record<string, unknown>[] {
    return this.sent.filter((f) => f.type === 'subscribe');
  }
}

export class ManualClock implements StreamClock {
  t = 1_700_000_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => void this.timers.delete(h as number);
  /** Move time forward, firing due timers in time order (including ones they schedule). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
  pending(): number {
    return this.timers.size;
  }
}
