import { describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { runBacktest } from '../src/backtest/engine.js';
import { ASSUMPTIONS } from '../src/backtest/report.js';
import { formatReplay, replay } from '../src/replay.js';
import { bar, barsSource, entrySignal, ny } from './helpers/backtest.js';
import { testConfig } from './helpers/config.js';
import { testLog } from './helpers/logger.js';
import { baseSignal } from './helpers/signals.js';

// Nobody answers approvals in a simulation: `replay` and `backtest` place an entry that would wait for a yes
// as if approved at once, and say so (before, a config with approval mode on replayed to zero trades).

const approval = { approval: { mode: 'required', timeout_ms: 60_000 } };

async function replayed(over: Record<string, unknown>) {
  const t = Date.parse('2026-12-07T15:00:00Z');
  const signals = [1, 2].map(
    (seq) =>
      ({ ...baseSignal(seq, { symbol: seq === 1 ? 'BTC' : 'ETH' }, t + seq * 1000), sig: 'x' }) as Signal,
  );
  return replay({
    config: testConfig({ risk: { cooldown_per_symbol_ms: 0 }, ...over } as never),
    serverKey: 'unused',
    afterSeq: 0,
    verify: () => Promise.resolve({ ok: true }),
    log: testLog,
    source: (async function* () {
      yield signals;
    })(),
  });
}

describe('approval mode in simulations', () => {
  it('replay: the same trades with approval required, and the report says they were assumed approved', async () => {
    const plain = await replayed({});
    const asked = await replayed(approval);
    expect(plain.trades).toBe(2);
    expect(asked.trades).toBe(plain.trades);
    expect(asked.byReason).toEqual(plain.byReason);
    expect(plain.approvalAssumed).toBe(false);
    expect(asked.approvalAssumed).toBe(true);
    expect(formatReplay(asked)).toContain('approval mode is not simulated');
    expect(formatReplay(plain)).not.toContain('approval mode');
  });

  it('backtest: the entry is placed as with approval off; the assumption is listed', async () => {
    const D = '2026-11-23';
    const run = (over: Record<string, unknown>) =>
      runBacktest({
        config: testConfig({
          exchange: { venue: 'us_equity' },
          sizing: { mode: 'fixed_quote', fixed_quote: 100 },
          paper: { fee_rate: 0, slippage_pct: 0, starting_balance_quote: 1000 },
          ...over,
        } as never),
        signals: [entrySignal(ny(D, '10:00'))],
        market: barsSource({ ABC: [bar(D, '10:00', [10, 10, 10, 10]), bar(D, '10:01', [11, 11, 11, 11])] }),
        from: ny(D, '04:00'),
        to: ny(D, '20:00'),
        log: testLog,
      });
    const asked = await run(approval);
    expect(asked.trades).toHaveLength(1);
    const plain = await run({});
    const fill = (t: (typeof plain.trades)[number]) => [t.amount, t.entryPrice, t.entryAt, t.pnl];
    expect(asked.trades.map(fill)).toEqual(plain.trades.map(fill));
    expect(ASSUMPTIONS.join('\n')).toContain('approval mode is not simulated');
  });
});
