import { Agent, request } from 'node:http';
import type { ClassificationInput } from '@catalyst-signal/shared';
import { chaosClassification } from './publishers.js';

/** One signal and everything its publisher was told about it. */
export interface Sent {
  body: ClassificationInput;
  /** Every HTTP status (or 'error' for a failed request) in order. */
  answers: (number | 'error')[];
  /** The seq from a 201, or from a 200 duplicate (an earlier unanswered attempt had landed). */
  seq?: number;
  /** When the POST that got the ack was sent (ms since epoch). */
  ackedSentAt?: number;
  ackedAt?: number;
}

export interface RetryingPublisherOptions {
  name: string;
  url: () => string;
  key: string;
  ratePerS: number;
  /** New signals are not started while this many are still unacked (counted in `skipped`). */
  maxPending?: number;
  timeoutMs?: number;
}

/**
 * What Catalyst-Bot does: an open-loop publisher at `ratePerS`, each signal with its own source_id, and on
 * 503 it waits Retry-After and sends the SAME signal again (also after a network error), until it gets a
 * seq. Every answer is recorded, so a test can check that only 201/200/503 were ever seen and that every
 * acked seq holds exactly the signal that was sent.
 */
export class RetryingPublisher {
  readonly sent = new Map<string, Sent>();
  readonly statusCounts = new Map<number | 'error', number>();
  /** Acked signals in the order their acks arrived. */
  private readonly ackLog: Sent[] = [];
  skipped = 0;
  /** Failed requests (no HTTP answer), by cause. */
  readonly errors = new Map<string, number>();
  private pending = 0;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private stopping = false;
  private aborted = false;
  private idle: (() => void)[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128 });

  constructor(private readonly o: RetryingPublisherOptions) {}

  start(): this {
    this.t0 = Date.now();
    this.timer = setInterval(() => this.tick(), 10);
    return this;
  }

  /** Stop starting new signals; resolves when every started one has been acked. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    if (this.pending > 0) await new Promise<void>((r) => this.idle.push(r));
    this.agent.destroy();
  }

  /** Stop everything now (test teardown after a failure): no new signals, no more retries. */
  abort(): void {
    clearInterval(this.timer);
    this.aborted = true;
    this.agent.destroy();
  }

  get unacked(): number {
    return this.pending;
  }

  /** The first ack (by arrival) whose POST was sent after `t` (ms since epoch): it ends an outage. */
  firstAckSentAfter(t: number): Sent | undefined {
    // ackLog is in arrival order: walk back to the first ack that arrived after t, then forward.
    let i = this.ackLog.length;
    while (i > 0 && this.ackLog[i - 1]!.ackedAt! > t) i--;
    for (; i < this.ackLog.length; i++) if (this.ackLog[i]!.ackedSentAt! > t) return this.ackLog[i];
    return undefined;
  }

  acked(): number {
    return this.ackLog.length;
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.t0) * this.o.ratePerS) / 1000);
    while (this.started < due) {
      this.started++;
      if (this.pending >= (this.o.maxPending ?? 5000)) {
        this.skipped++;
        continue;
      }
      void this.publish(this.started);
    }
  }

  /**
   * One POST over a bounded keep-alive pool (as a real publisher has a few connections, not one per signal):
   * fetch's global pool opens a socket per concurrent request, thousands during an outage.
   */
  private post(payload: string): Promise<{ status: number; text: string; retryAfter: string | undefined }> {
    const url = new URL(`${this.o.url()}/v1/signals`);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            authorization: `Bearer ${this.o.key}`,
          },
          timeout: this.o.timeoutMs ?? 10_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            const ra = res.headers['retry-after'];
            resolve({ status: res.statusCode ?? 0, text, retryAfter: Array.isArray(ra) ? ra[0] : ra });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('request timed out'), { name: 'TimeoutError' })),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  private count(k: number | 'error'): void {
    this.statusCounts.set(k, (this.statusCounts.get(k) ?? 0) + 1);
  }

  private async publish(i: number): Promise<void> {
    const body = chaosClassification(`${this.o.name}-${i}`, i);
    const s: Sent = { body, answers: [] };
    this.sent.set(body.source_id, s);
    this.pending++;
    try {
      while (!this.aborted) {
        const sentAt = Date.now();
        let wait = 200;
        try {
          const res = await this.post(JSON.stringify(body));
          s.answers.push(res.status);
          this.count(res.status);
          if (res.status === 201 || res.status === 200) {
            const r = JSON.parse(res.text) as { seq: number; source_id: string; duplicate: boolean };
            if (r.source_id !== body.source_id) throw new Error(`ack for another source_id: ${res.text}`);
            s.seq = r.seq;
            s.ackedSentAt = sentAt;
            s.ackedAt = Date.now();
            this.ackLog.push(s);
            return;
          }
          if (res.status !== 503) return; // a definite refusal: recorded, the test fails on it
          wait = 1000 * Number(res.retryAfter ?? '1');
        } catch (err) {
          s.answers.push('error');
          this.count('error');
          const e = err as Error & { cause?: { code?: string; message?: string } };
          const why = `${e.name}: ${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
          this.errors.set(why, (this.errors.get(why) ?? 0) + 1);
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    } finally {
      this.pending--;
      if (this.pending === 0 && this.stopping) for (const r of this.idle.splice(0)) r();
    }
  }
}
