/** Reconnect pacing, as the client config spells it (server.reconnect). */
export interface ReconnectPolicy {
  initial_delay_ms: number;
  factor: number;
  max_delay_ms: number;
  jitter: 'full' | 'none';
}

/** Backoff delay for attempt n (0-based): min(max, initial * factor^n), full jitter = uniform in [0, that]. */
export function backoffDelay(
  attempt: number,
  r: ReconnectPolicy,
  random: () => number = Math.random,
): number {
  const cap = Math.min(r.max_delay_ms, r.initial_delay_ms * Math.pow(r.factor, attempt));
  return r.jitter === 'full' ? Math.floor(random() * cap) : cap;
}
