import { describe, expect, it } from 'vitest';
import { openDb } from '../src/journal/db.js';
import { SQL } from '../src/journal/intents.js';

// Every entry decision reads these (decisionState, equityCounts). A backtest's year writes tens of thousands of
// intents into one journal: a read that scans them all makes each decision slower than the last (issue 23).
describe('the journal reads of every entry decision', () => {
  it.each([
    ['ordersSince', [0]],
    ['lastEntries', [0]],
    ['roundTripsSince', [{ since: 0 }]],
    ['realizedSince', [0]],
  ] as const)('%s is answered by an index, not a scan of the table', (name, args) => {
    const db = openDb(':memory:');
    try {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${SQL[name]}`).all(...args) as { detail: string }[]).map(
        (r) => r.detail,
      );
      expect(plan.length).toBeGreaterThan(0);
      for (const step of plan) expect(step).not.toMatch(/^SCAN (intents|pnl|s|b)\b/);
    } finally {
      db.close();
    }
  });
});
