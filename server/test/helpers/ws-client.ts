import { onTestFinished } from 'vitest';
import WebSocket from 'ws';

export interface Frame {
  type: string;
  [k: string]: unknown;
}

/**
 * A real WebSocket client (the `ws` package) that records every frame and lets a test wait for a
 * condition on them: waits are driven by arriving frames or the close event, never by sleeping.
 */
export class TestWs {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters: (() => void)[] = [];
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.wake();
    });
    ws.on('error', () => this.wake());
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
    });
    onTestFinished(() => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolve when `cond` holds (checked on every frame / close); reject after `ms` with what was seen. */
  until<T>(cond: () => T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const v = cond();
        if (v) {
          clearTimeout(timer);
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out waiting for ${what}; ${this.frames.length} frames, last: ${JSON.stringify(this.frames.at(-1))}, close ${this.closeCode}`,
          ),
        );
      }, ms);
      const loop = () => {
        if (!check()) this.waiters.push(loop);
      };
      loop();
    });
  }

  frame(type: string, ms?: number): Promise<Frame> {
    return this.until(() => this.frames.find((f) => f.type === type), ms, `a ${type} frame`);
  }

  closed(ms?: number): Promise<number> {
    return this.until(() => this.closeCode, ms, 'close');
  }

  signals(): { seq: number; [k: string]: unknown }[] {
    return this.frames.filter((f) => f.type === 'signal').map((f) => f.signal as { seq: number });
  }
}

export function connect(
  wsUrl: string,
  key?: string,
  opts: { protocols?: string[]; headers?: Record<string, string> } = {},
): TestWs {
  const headers = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...opts.headers };
  return new TestWs(new WebSocket(`${wsUrl}/v1/stream`, opts.protocols ?? [], { headers }));
}
