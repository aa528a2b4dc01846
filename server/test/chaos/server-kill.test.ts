import { describe, expect, it } from 'vitest';
import { runKillScenario } from './kill-scenario.js';

// Reduced version of server-kill.slow.test.ts: two SIGKILLs under load, same assertions.
describe('server crash (SIGKILL) under load, reduced', () => {
  it(
    '2 kills at random moments: nothing acknowledged lost, seqs gapless, clients get every seq once',
    { timeout: 120_000 },
    async () => {
      const s = await runKillScenario({
        rounds: 2,
        publishers: 3,
        ratePerS: 300,
        minUpMs: 400,
        maxUpMs: 900,
      });
      expect(s.lost).toBe(0);
      expect(s.acknowledged).toBeGreaterThan(100);
    },
  );
});
