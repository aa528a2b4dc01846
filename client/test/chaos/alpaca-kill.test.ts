import { describe, expect, it } from 'vitest';
import { serverBuilt } from '../helpers/real-server.js';
import { runAlpacaKillScenario } from './alpaca-kill-scenario.js';

// Reduced version of alpaca-kill.slow.test.ts: one pre-market and one regular-session SIGKILL, same invariants.
describe.skipIf(!serverBuilt())(
  'client crash (SIGKILL) while trading US equities live on Alpaca, reduced',
  () => {
    it('2 kills: one broker entry per accepted signal, no orphans, journal equals the broker ledger', async () => {
      const s = await runAlpacaKillScenario({
        rounds: 2,
        preMarketRounds: 1,
        // Each signal costs the client ~7 throttled broker reads (ccxt's 333 ms Alpaca pacing): longer rounds,
        // fewer signals than the Binance scenario. The up time starts once the client has subscribed.
        minUpMs: 2500,
        maxUpMs: 5000,
        publishEveryMs: 1200,
      });
      expect(s.duplicates).toBe(0);
      expect(s.orphans).toBe(0);
      expect(s.streamCuts, 'trading stream cuts').toBeGreaterThan(0);
      expect(s.incidents + s.appSellsInFlight, 'incidents only for sales in the broker app').toBe(s.appSells);
      expect(
        s.checkedRounds,
        'restarts checked against the broker (round 1 crashes itself)',
      ).toBeGreaterThanOrEqual(1);
      expect(s.accepted).toBeGreaterThan(0);
      expect(s.extendedHours + s.brackets, 'orders of both sessions reached the broker').toBeGreaterThan(0);
    }, 120_000);
  },
);
