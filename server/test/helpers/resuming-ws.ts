import WebSocket from 'ws';

export interface ResumingOptions {
  /** Base ws:// URL, read at every (re)connect (a restarted child server has a new port). */
  url: () => string;
  key: string;
  /** Expected epoch: sent with every subscribe, and every signal must carry it. */
  epoch?: string;
  /**
   * Watchdog: with a heartbeat interval set, a socket that receives NO frame for `watchdogFactor` x
   * heartbeatMs is declared dead (a stalled / half-open path), terminated and replaced.
   */
  heartbeatMs?: number;
  watchdogFactor?: number;
  /** Reconnect backoff, doubling from min to max; reset once a subscribe is answered. */
  backoffMs?: [number, number];
  /** Keep every applied signal body (for content checks). */
  keepSignals?: boolean;
}

export interface SignalLike {
  seq: number;
  epoch: string;
  source_id: string;
  [k: string]: unknown;
}

/**
 * The test's model of a correct stream consumer: it applies seq last+1 only, counts anything at or below
 * `last` as a duplicate and anything beyond last+1 as a gap, and after every disconnect reconnects and
 * subscribes from the last applied seq. Every state change wakes `until()` waiters: tests wait on events,
 * not on sleeps. (The real client in client/ is tested against the same helpers later.)
 */
export class ResumingStream {
  last = 0;
  readonly applied: number[] = [];
  readonly signals = new Map<number, SignalLike>();
  duplicates = 0;
  readonly gaps: { after: number; got: number }[] = [];
  unrecovered = 0;
  badEpoch = 0;
  connects = 0;
  subscribes = 0;
  readonly closes: { code: number; at: number }[] = [];
  readonly watchdogFirings: number[] = [];
  readonly errorFrames: unknown[] = [];
  /** head_seq of the latest hello/heartbeat/subscribed seen. */
  serverHead = 0;
  private ws: WebSocket | undefined;
  private stopped = false;
  private backoff: number;
  private watchdog: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly o: ResumingOptions) {
    this.backoff = o.backoffMs?.[0] ?? 20;
  }

  start(): this {
    this.connect();
    return this;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** The live socket (tests may poke at it, e.g. to terminate it). */
  get socket(): WebSocket | undefined {
    return this.ws;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.watchdog);
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
    this.wake();
  }

  /** Resolve when `cond` holds (checked on every event); reject after `ms` with the state. */
  until<T>(cond: () => T | undefined | false, ms = 20_000, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${what}: ${this.describe()}`));
      }, ms);
      const loop = () => {
        const v = cond();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(loop);
      };
      loop();
    });
  }

  describe(): string {
    return `last ${this.last}, applied ${this.applied.length}, dups ${this.duplicates}, gaps ${this.gaps.length}, connects ${this.connects}, watchdog ${this.watchdogFirings.length}, head seen ${this.serverHead}, open ${this.connected}`;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(`${this.o.url()}/v1/stream`, {
      headers: { authorization: `Bearer ${this.o.key}` },
      // A handshake into a black hole must fail too, or the watchdog (armed at open) never runs.
      handshakeTimeout: this.o.heartbeatMs ? this.o.heartbeatMs * 5 : 5000,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.connects++;
      this.arm();
      this.wake();
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      this.arm();
      if (!isBinary) this.onFrame(ws, JSON.parse(data.toString()) as { type: string; [k: string]: unknown });
      this.wake();
    });
    ws.on('error', () => undefined); // a close event follows
    ws.on('close', (code) => {
      if (ws !== this.ws) return;
      clearTimeout(this.watchdog);
      this.closes.push({ code, at: Date.now() });
      this.ws = undefined;
      this.wake();
      if (this.stopped) return;
      this.reconnectTimer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.o.backoffMs?.[1] ?? 500);
    });
  }

  private arm(): void {
    if (!this.o.heartbeatMs) return;
    clearTimeout(this.watchdog);
    const ws = this.ws;
    this.watchdog = setTimeout(
      () => {
        if (ws !== this.ws || !ws) return;
        this.watchdogFirings.push(Date.now());
        ws.terminate();
      },
      this.o.heartbeatMs * (this.o.watchdogFactor ?? 1.5),
    );
  }

  private onFrame(ws: WebSocket, f: { type: string; [k: string]: unknown }): void {
    switch (f.type) {
      case 'hello':
        this.serverHead = Math.max(this.serverHead, f.head_seq as number);
        if (f.authenticated) {
          this.subscribes++;
          ws.send(
            JSON.stringify({
              type: 'subscribe',
              from_seq: this.last,
              ...(this.o.epoch ? { epoch: this.o.epoch } : {}),
            }),
          );
        }
        break;
      case 'subscribed':
        this.serverHead = Math.max(this.serverHead, f.head_seq as number);
        if (f.recovered) this.backoff = this.o.backoffMs?.[0] ?? 20;
        else this.unrecovered++;
        break;
      case 'heartbeat':
        this.serverHead = Math.max(this.serverHead, f.head_seq as number);
        break;
      case 'error':
        this.errorFrames.push(f);
        break;
      case 'signal': {
        const s = f.signal as SignalLike;
        if (this.o.epoch && s.epoch !== this.o.epoch) this.badEpoch++;
        if (s.seq <= this.last) {
          this.duplicates++;
          return;
        }
        if (s.seq !== this.last + 1) this.gaps.push({ after: this.last, got: s.seq });
        this.last = s.seq;
        this.applied.push(s.seq);
        if (this.o.keepSignals) this.signals.set(s.seq, s);
        break;
      }
    }
  }
}
