/**
 * Publishing from the orchestrator: an open-loop publisher (fixed rate, intended send time in `meta.t`, never
 * waits for answers before sending the next) and a batch loader for backlogs.
 */
import { Agent, request } from 'node:http';
import { nowUs } from '../gen/protocol.js';
import { classification } from './classification.js';

export interface PostResult {
  status: number;
  body: string;
}

export class Publisher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private n = 0;
  /** Highest seq the server has acknowledged. */
  head = 0;

  constructor(
    private readonly port: number,
    private readonly token: string | undefined,
    private readonly tag: string,
  ) {}

  post(body: string): Promise<PostResult> {
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      };
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: '/v1/signals',
          agent: this.agent,
          headers,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', () => resolve({ status: 0, body: text }));
        },
      );
      req.on('error', (err) => resolve({ status: 0, body: String(err) }));
      req.end(body);
    });
  }

  /** The seqs a 201 answer assigned (one object or a batch), or null. */
  private noteSeq(r: PostResult): number[] | null {
    if (r.status !== 201) return null;
    try {
      const parsed = JSON.parse(r.body) as { seq?: number; results?: { seq: number }[] };
      const seqs = parsed.results ? parsed.results.map((x) => x.seq) : [parsed.seq ?? 0];
      for (const s of seqs) if (s > this.head) this.head = s;
      return seqs;
    } catch {
      return null;
    }
  }

  /** Publish `rate` signals per second for `durationMs`, each stamped with its intended send time. */
  async openLoop(rate: number, durationMs: number): Promise<OpenLoopResult> {
    const total = Math.max(1, Math.round((rate * durationMs) / 1000));
    const start = nowUs() + 2_000;
    const intervalUs = 1e6 / rate;
    const inflight: Promise<void>[] = [];
    const res: OpenLoopResult = {
      sent: 0,
      ok: 0,
      failed: 0,
      maxLagMs: 0,
      firstError: '',
      startUs: start,
      intended: new Map(),
    };
    for (let i = 0; i < total;) {
      const now = nowUs();
      for (; i < total && start + i * intervalUs <= now; i++) {
        const intended = Math.round(start + i * intervalUs);
        res.maxLagMs = Math.max(res.maxLagMs, (now - intended) / 1000);
        const body = JSON.stringify(classification(`${this.tag}-${this.n++}`, intended));
        res.sent++;
        inflight.push(
          this.post(body).then((r) => {
            const seqs = this.noteSeq(r);
            if (seqs) {
              res.ok++;
              res.intended.set(seqs[0]!, intended);
            } else {
              res.failed++;
              res.firstError ||= `${r.status} ${r.body.slice(0, 200)}`;
            }
          }),
        );
      }
      if (i < total) await sleep(Math.max(0, Math.min(1, (start + i * intervalUs - nowUs()) / 1000)));
    }
    await Promise.all(inflight);
    return res;
  }

  /** Publish `count` signals in arrays of `batch` (one transaction each on every server); returns the head. */
  async backlog(count: number, batch: number): Promise<number> {
    for (let done = 0; done < count;) {
      const size = Math.min(batch, count - done);
      const list = Array.from({ length: size }, () => classification(`${this.tag}-${this.n++}`, 0));
      const r = await this.post(JSON.stringify(list));
      if (!this.noteSeq(r)) throw new Error(`backlog POST failed: ${r.status} ${r.body.slice(0, 300)}`);
      done += size;
    }
    return this.head;
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  maxLagMs: number;
  firstError: string;
  startUs: number;
  /** seq -> intended send time (µs), to compute time-to-last-subscriber per broadcast. */
  intended: Map<number, number>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
