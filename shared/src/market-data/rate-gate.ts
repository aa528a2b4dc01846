/**
 * A client-side sliding-window limit: at most `limit` calls in any `windowMs`. Alpaca's data API allows 200
 * calls/min per account on the free plan; staying under it on our side means a backfill never meets a 429 storm.
 * Time and waiting are injected, so a test can run it on a virtual clock.
 */
export interface RateGateOptions {
  limit: number;
  windowMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RateGate {
  private readonly calls: number[] = [];
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RateGateOptions) {
    if (!(opts.limit >= 1)) throw new Error(`rate gate limit must be >= 1 (got ${opts.limit})`);
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Resolves when one more call fits in the window (callers are served in order). */
  take(): Promise<void> {
    const turn = this.chain.then(() => this.wait());
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.calls.length > 0 && this.calls[0]! <= now - this.opts.windowMs) this.calls.shift();
      if (this.calls.length < this.opts.limit) {
        this.calls.push(now);
        return;
      }
      await this.sleep(this.calls[0]! + this.opts.windowMs - now);
    }
  }
}
