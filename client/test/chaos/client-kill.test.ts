import { describe, expect, it } from 'vitest';
import { serverBuilt } from '../helpers/real-server.js';
import { runClientKillScenario } from './client-kill-scenario.js';

// Reduced version of client-kill.slow.test.ts: a few SIGKILLs of the live client, same invariants.
describe.skipIf(!serverBuilt())('client crash (SIGKILL) while trading live, reduced', () => {
  it('2 kills at random moments: one exchange order per intent, no orphans, fills match the ledger', async () => {
    const s = await runClientKillScenario({ rounds: 2, minUpMs: 900, maxUpMs: 1800, publishEveryMs: 150 });
    expect(s.duplicates).toBe(0);
    expect(s.orphans).toBe(0);
    expect(s.accepted).toBeGreaterThan(0);
  });
});
