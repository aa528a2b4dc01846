import type { ClassificationInput } from '@catalyst-signal/shared';

export type AttemptState = 'pending' | 'acked' | 'refused' | 'unknown';

/** One classification a publisher tried to send, and what it learnt about its fate. */
export interface Attempt {
  body: ClassificationInput;
  state: AttemptState;
  /** The acknowledged seq (state acked). */
  seq?: number;
  /** HTTP status for refused (a definite answer other than 201), error text for unknown. */
  detail?: string;
}

export interface PublisherOptions {
  name: string;
  /** Base http:// URL, read per request (a restarted child server has a new port). */
  url: () => string;
  key: string;
  ratePerS: number;
  /** Open loop, but bounded: when this many are in flight, due sends are skipped (and counted). */
  maxInFlight?: number;
  timeoutMs?: number;
}

/**
 * An open-loop, timer-driven publisher: sends at `ratePerS` whatever the server does (a crashed server
 * does not slow it down), one classification per POST over fetch's keep-alive pool, and records every
 * attempt: acked (201 + seq: must survive anything), refused (a definite non-201: must not be stored),
 * unknown (network error or timeout: either stored whole or not at all).
 */
export class OpenLoopPublisher {
  readonly attempts = new Map<string, Attempt>();
  skipped = 0;
  private inFlight = 0;
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private idle: (() => void)[] = [];

  constructor(private readonly o: PublisherOptions) {}

  start(): this {
    this.t0 = Date.now();
    this.timer = setInterval(() => this.tick(), 10);
    return this;
  }

  /** Stop sending and resolve when every in-flight request has settled. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.inFlight > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  count(state: AttemptState): number {
    let n = 0;
    for (const a of this.attempts.values()) if (a.state === state) n++;
    return n;
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.t0) * this.o.ratePerS) / 1000);
    while (this.sent < due) {
      this.sent++;
      if (this.inFlight >= (this.o.maxInFlight ?? 200)) {
        this.skipped++;
        continue;
      }
      void this.sendOne(this.sent);
    }
  }

  private async sendOne(i: number): Promise<void> {
    const body = chaosClassification(`${this.o.name}-${i}`, i);
    const a: Attempt = { body, state: 'pending' };
    this.attempts.set(body.source_id, a);
    this.inFlight++;
    try {
      const res = await fetch(`${this.o.url()}/v1/signals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.o.key}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000),
      });
      const text = await res.text();
      if (res.status === 201) {
        const r = JSON.parse(text) as { seq: number; duplicate: boolean; source_id: string };
        if (r.source_id !== body.source_id || r.duplicate) throw new Error(`bad ack ${text}`);
        a.state = 'acked';
        a.seq = r.seq;
      } else {
        a.state = 'refused';
        a.detail = `${res.status} ${text.slice(0, 200)}`;
      }
    } catch (err) {
      // Includes a body cut off mid-answer: the server may have committed it.
      if (a.state === 'pending') {
        a.state = 'unknown';
        a.detail = (err as Error).message;
      }
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
    }
  }
}

/** A valid classification whose content is a function of (id, i), so the stored copy can be compared. */
export function chaosClassification(id: string, i: number): ClassificationInput {
  const symbols = ['AAPL', 'tsla', 'NVDA', 'MRNA', 'BTC', 'brk.b'];
  return {
    source_id: `chaos-${id}-${Math.random().toString(36).slice(2, 8)}`,
    symbol: symbols[i % symbols.length]!,
    catalyst: ['earnings', 'fda', 'merger', 'offering'][i % 4]!,
    direction: (['long', 'short', 'neutral'] as const)[i % 3]!,
    confidence: (i % 100) / 100,
    price: 1 + (i % 997) / 7,
    headline: `Chaos headline ${id} ${'x'.repeat(i % 200)}`,
    classified_at: new Date().toISOString(),
    meta: { i, id, nested: { list: [i, String(i), i % 2 === 0] } },
  };
}
