import { describe, expect, it } from 'vitest';
import { runKillScenario } from './kill-scenario.js';

describe('server crash (SIGKILL) under load', () => {
  it('20 kills at random moments at ~500 signals/s: nothing acknowledged lost, seqs gapless, clients exact', async () => {
    const s = await runKillScenario({
      rounds: 20,
      publishers: 4,
      ratePerS: 500,
      minUpMs: 300,
      maxUpMs: 2500,
    });
    expect(s.lost).toBe(0);
    expect(s.clientDuplicates + s.clientGaps).toBe(0);
    expect(s.acknowledged).toBeGreaterThan(5000);
  });
});
