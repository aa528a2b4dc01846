import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** A rate-limit decision that carries the response headers it implies. */
export interface LimitDecision {
  ok: boolean;
  retryAfterMs: number;
  headers: Record<string, string>;
}

const ALLOW: LimitDecision = { ok: true, retryAfterMs: 0, headers: {} };

/**
 * One named limit: `points` per `durationS` per key, through rate-limiter-flexible's in-memory limiter
 * (one process; a cluster would swap in its Redis limiter behind the same call).
 */
export class Limit {
  private readonly limiter: RateLimiterMemory | undefined;

  constructor(
    readonly kind: string,
    readonly points: number,
    readonly durationS: number,
    disabled = false,
  ) {
    this.limiter = disabled
      ? undefined
      : new RateLimiterMemory({ points, duration: durationS, keyPrefix: kind });
  }

  async consume(key: string, points = 1): Promise<LimitDecision> {
    if (!this.limiter) return ALLOW;
    try {
      const res = await this.limiter.consume(key, points);
      return { ok: true, retryAfterMs: 0, headers: this.headers(res) };
    } catch (rej) {
      if (!(rej instanceof RateLimiterRes)) throw rej;
      return { ok: false, retryAfterMs: rej.msBeforeNext, headers: this.headers(rej) };
    }
  }

  /** Count without refusing (used to record failures, e.g. failed logins). */
  async penalty(key: string): Promise<void> {
    await this.limiter?.penalty(key, 1).catch(() => undefined);
  }

  /** Has the key already used up its points? (Does not consume.) */
  async exhausted(key: string): Promise<LimitDecision> {
    if (!this.limiter) return ALLOW;
    const res = await this.limiter.get(key);
    if (!res || res.consumedPoints < this.points) return ALLOW;
    return { ok: false, retryAfterMs: res.msBeforeNext, headers: this.headers(res) };
  }

  private headers(res: RateLimiterRes): Record<string, string> {
    return {
      'RateLimit-Limit': String(this.points),
      'RateLimit-Remaining': String(Math.max(0, res.remainingPoints)),
      'RateLimit-Reset': String(Math.ceil(res.msBeforeNext / 1000)),
    };
  }
}

/** Every limit the server applies, built from config. */
export interface Limits {
  restRead: Limit;
  restPublish: Limit;
  authFailures: Limit;
  wsConnectionsPerIp: Limit;
  wsFrames: Limit;
}

export function createLimits(c: {
  rest_read_per_min: number;
  rest_publish_per_min: number;
  auth_failures_per_min: number;
  ws_connections_per_ip: number;
  ws_connections_window_s: number;
  ws_frames_per_s: number;
  limits_disabled: boolean;
}): Limits {
  const off = c.limits_disabled;
  return {
    restRead: new Limit('rest_read', c.rest_read_per_min, 60, off),
    restPublish: new Limit('rest_publish', c.rest_publish_per_min, 60, off),
    authFailures: new Limit('auth_failures', c.auth_failures_per_min, 60, off),
    wsConnectionsPerIp: new Limit('ws_connections', c.ws_connections_per_ip, c.ws_connections_window_s, off),
    wsFrames: new Limit('ws_frames', c.ws_frames_per_s, 1, off),
  };
}
