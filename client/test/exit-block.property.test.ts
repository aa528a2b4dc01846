import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import {
  decide,
  decideEquity,
  type Decision,
  type EquityState,
  type MarketInfo,
} from '../src/decide/index.js';
import { Journal } from '../src/journal/index.js';
import { testConfig } from './helpers/config.js';

// Issue 19 item 3: after an exit signal (any action exit) no entry in that symbol for risk.exit_block_ms, on both
// venues, whatever became of the exit. The journal is real (SQLite in a temp dir): blocks go through the same
// recordDecision -> avoids -> decision state path as in `run`.

const T0 = Date.parse('2026-11-23T15:00:00Z'); // Monday 10:00 New York
const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'cc-exitblock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Venue = 'crypto_spot' | 'us_equity';
interface Step {
  symbol: 'TLMD' | 'KLTO' | 'ACME';
  action: 'enter' | 'exit' | 'avoid';
  catalyst: string;
  advanceMs: number;
  kill: boolean;
  /** This client holds the symbol (an exit sells) or not (an exit finds nothing to sell). */
  held?: boolean;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  symbol: fc.constantFrom('TLMD', 'KLTO', 'ACME'),
  action: fc.constantFrom('enter', 'enter', 'exit', 'avoid'),
  catalyst: fc.constantFrom('going_concern', 'delisting', 'merger', 'earnings'),
  advanceMs: fc.oneof(
    fc.integer({ min: 0, max: 2 * HOUR }),
    fc.integer({ min: 20 * HOUR, max: 8 * 24 * HOUR }),
  ),
  kill: fc.boolean(),
  held: fc.boolean(),
});

function signalOf(seq: number, s: Step, now: number): Signal {
  return {
    source_id: `s${seq}`,
    symbol: s.symbol,
    catalyst: s.catalyst,
    action: s.action,
    direction: s.action === 'enter' ? 'long' : 'neutral',
    confidence: 1,
    price: 10,
    headline: 'h',
    classified_at: new Date(now - 10).toISOString(),
    ingested_at: new Date(now).toISOString(),
    seq,
    epoch: 'e1',
    sig: 'x',
  } as unknown as Signal;
}

function market(venue: Venue, symbol: string): MarketInfo {
  return venue === 'us_equity'
    ? {
        symbol,
        base: symbol,
        quote: 'USD',
        venue,
        amountStep: 1,
        priceStep: 0.0001,
        minAmount: 0,
        minCost: 0,
        equity: { tradable: true, fractionable: false, shortable: false },
      }
    : {
        symbol: `${symbol}/USDT`,
        base: symbol,
        quote: 'USDT',
        amountStep: 0.001,
        priceStep: 0.01,
        minAmount: 0,
        minCost: 1,
      };
}

/** Decide one signal through the venue's pure rules with the journal's state, and journal it like `run`. */
function step(
  journal: Journal,
  venue: Venue,
  exitBlockMs: number,
  seq: number,
  s: Step,
  now: number,
): Decision {
  const cfg = testConfig({
    risk: { exit_block_ms: exitBlockMs, cooldown_per_symbol_ms: 0, max_orders_per_day: 10_000 },
    filters: { max_signal_age_ms: 60_000 },
    equities: { session_policy: 'extended' },
  } as never);
  journal.setKillSwitch(s.kill ? 'test' : undefined);
  const signal = signalOf(seq, s, now);
  const m = market(venue, s.symbol);
  const base = journal.decisionState(now, { freeQuote: 1000, equity: 1000 });
  const positions = s.held === false ? [] : [{ market: m.symbol, amount: 1, cost: 10 }];
  const decision =
    venue === 'crypto_spot'
      ? decide(cfg, { signal, now, market: m, ticker: 10, state: { ...base, positions } })
      : decideEquity(cfg, {
          signal,
          now,
          market: m,
          session: { kind: 'regular' },
          last: 10,
          account: { buyingPower: 1000, equity: 1000 },
          state: {
            ...base,
            positions,
            outsidePositions: [],
            avoids: journal.avoids(now),
            roundTripsToday: 0,
            roundTripsWeek: 0,
          } satisfies EquityState,
        });
  journal.recordDecision({ signal, receivedAt: now, decidedAt: now, decision, intents: [] });
  return decision;
}

describe('an exit blocks entries in its symbol (property, both venues)', () => {
  for (const venue of ['crypto_spot', 'us_equity'] as const) {
    it(`${venue}: no entry within risk.exit_block_ms after an exit of the symbol`, () => {
      const seen = { entries: 0, blocked: 0 };
      fc.assert(
        fc.property(
          fc.array(stepArb, { minLength: 1, maxLength: 25 }),
          fc.constantFrom(0, HOUR, 24 * HOUR, 7 * 24 * HOUR),
          (steps, exitBlockMs) => {
            const journal = Journal.open(':memory:');
            try {
              const exits: { symbol: string; at: number }[] = [];
              let now = T0;
              steps.forEach((s, i) => {
                now += s.advanceMs;
                const d = step(journal, venue, exitBlockMs, i + 1, s, now);
                if (s.action === 'exit') exits.push({ symbol: s.symbol, at: now });
                if (d.reason === 'skipped:exited') seen.blocked += 1;
                if (!d.legs.some((l) => l.leg === 'entry')) return;
                seen.entries += 1;
                const blocker = exits.find((e) => e.symbol === s.symbol && now < e.at + exitBlockMs);
                expect(blocker, `entry #${i + 1} ${s.symbol} at ${now}`).toBeUndefined();
              });
            } finally {
              journal.close();
            }
          },
        ),
        { numRuns: 150 },
      );
      // The property is not vacuous: entries happened, and exits blocked some.
      expect(seen.entries).toBeGreaterThan(20);
      expect(seen.blocked).toBeGreaterThan(5);
    });
  }

  it('the skip names the exit; the block holds whether the exit sold or found nothing to sell', () => {
    for (const venue of ['crypto_spot', 'us_equity'] as const) {
      const journal = Journal.open(join(dir, `named-${venue}.sqlite`));
      const day = 24 * HOUR;
      const x = step(
        journal,
        venue,
        7 * day,
        5,
        { symbol: 'TLMD', action: 'exit', catalyst: 'going_concern', advanceMs: 0, kill: false },
        T0,
      );
      expect(x.avoidUntil).toBe(T0 + 7 * day);
      const e = step(
        journal,
        venue,
        7 * day,
        154,
        { symbol: 'TLMD', action: 'enter', catalyst: 'merger', advanceMs: 0, kill: false },
        T0 + 6 * day,
      );
      expect(e).toMatchObject({
        verdict: 'skip',
        reason: 'skipped:exited',
        detail: 'exit #5 going_concern: entries in TLMD blocked for another 1d',
      });
      // A later exit that finds nothing to sell (and the client paused) still extends the block.
      const p = step(
        journal,
        venue,
        7 * day,
        160,
        { symbol: 'TLMD', action: 'exit', catalyst: 'delisting', advanceMs: 0, kill: true, held: false },
        T0 + 6 * day,
      );
      expect(p.legs.some((l) => l.leg === 'entry')).toBe(false);
      expect(p.avoidUntil).toBe(T0 + 13 * day);
      const e2 = step(
        journal,
        venue,
        7 * day,
        161,
        { symbol: 'TLMD', action: 'enter', catalyst: 'merger', advanceMs: 0, kill: false },
        T0 + 8 * day,
      );
      expect(e2.detail).toBe('exit #160 delisting: entries in TLMD blocked for another 5d');
      const e3 = step(
        journal,
        venue,
        7 * day,
        162,
        { symbol: 'TLMD', action: 'enter', catalyst: 'merger', advanceMs: 0, kill: false },
        T0 + 14 * day,
      );
      expect(e3.reason).toBe('trade:entry');
      journal.close();
    }
  });
});
