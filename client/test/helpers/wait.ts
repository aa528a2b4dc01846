import type { EventEmitter } from 'node:events';

/** Resolve on the first `event` whose args satisfy pred (events, not sleeps, synchronise tests). */
export function waitEvent<T extends unknown[]>(
  em: EventEmitter,
  event: string,
  pred: (...a: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => (em.off(event, on), reject(new Error(`timed out waiting for ${event}`))),
      timeoutMs,
    );
    const on = (...a: unknown[]) => {
      if (!pred(...(a as T))) return;
      clearTimeout(timer);
      em.off(event, on);
      resolve(a as T);
    };
    em.on(event, on);
  });
}
