import type { Logger } from 'pino';
import { WARM_FACTS, type AccountEvent, type AccountState, type WarmFact } from '../venue/account-state.js';
import type { AlpacaAdapter } from './alpaca.js';

/**
 * The IO that keeps an AccountState warm: each fact is read in the background on its own timer
 * (WARM_FACTS.refreshMs), through the adapter's `reads` ccxt instance, so the requests wait in their own
 * throttle queue and never in front of an order. A failed read leaves the fact as it was: it ages, and once
 * past its bound the decisions that need it are refused (skipped:state_stale) until a read succeeds.
 */

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface AccountRefresh {
  /** Read every fact once now (start-up: the first signal finds the state warm). */
  refreshAll(): Promise<void>;
  stop(): void;
}

export function startAccountRefresh(
  alpaca: AlpacaAdapter,
  state: AccountState,
  opts: { log: Logger; now?: () => number; schedule?: Partial<Record<WarmFact, number>> },
): AccountRefresh {
  const now = opts.now ?? Date.now;
  const read: Record<WarmFact, () => Promise<AccountEvent>> = {
    account: async () => ({ kind: 'account', account: await alpaca.account() }),
    positions: async () => ({ kind: 'positions', positions: await alpaca.positions() }),
    orders: async () => ({ kind: 'orders', orders: await alpaca.openOrders() }),
    assets: async () => ({ kind: 'assets', assets: await alpaca.assets() }),
    clock: async () => ({ kind: 'clock', clock: await alpaca.clock() }),
    calendar: async () => {
      const t = now();
      return {
        kind: 'calendar',
        days: await alpaca.calendar(isoDate(t - 86_400_000), isoDate(t + 14 * 86_400_000)),
      };
    },
  };
  const running = new Map<WarmFact, Promise<void>>();
  const refresh = (fact: WarmFact): Promise<void> => {
    const busy = running.get(fact);
    if (busy) return busy;
    // The fact's time is when it was asked for: the broker's answer is at least that fresh.
    const asked = now();
    const p = read[fact]()
      .then((e) => state.apply(e, asked))
      .catch((e: Error) => opts.log.warn({ fact, err: e.message }, 'account refresh failed'))
      .finally(() => running.delete(fact));
    running.set(fact, p);
    return p;
  };
  const timers = (Object.keys(read) as WarmFact[]).map((fact) => {
    const t = setInterval(() => void refresh(fact), opts.schedule?.[fact] ?? WARM_FACTS[fact].refreshMs);
    t.unref();
    return t;
  });
  return {
    refreshAll: async () => {
      await Promise.all((Object.keys(read) as WarmFact[]).map(refresh));
    },
    stop: () => timers.forEach(clearInterval),
  };
}
