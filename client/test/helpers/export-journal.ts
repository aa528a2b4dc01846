import type { Signal } from '@catalyst-signal/shared';
import { Journal } from '../../src/journal/index.js';
import { baseSignal } from './signals.js';

/**
 * A journal with something in every export: three decisions from T0 on (a trade whose headline is a formula with
 * quotes and a line break, a skip, a limit entry), an order filled at once and one filled in two executions.
 */
export function writeExportJournal(journalPath: string, T0: number): void {
  const j = Journal.open(journalPath);
  const leg = {
    leg: 'entry' as const,
    market: 'BTC/USDT',
    side: 'buy' as const,
    type: 'market' as const,
    amount: 0.5,
    refPrice: 60000,
    quote: 30000,
  };
  j.recordDecision({
    signal: baseSignal(1, { epoch: 'e1', headline: '=HYPERLINK("http://x"), "quoted"\nline' }, T0) as Signal,
    receivedAt: T0,
    decidedAt: T0 + 5,
    decision: { verdict: 'trade', reason: 'trade:entry', legs: [leg] },
    intents: [{ clientOrderId: 'c1', leg }],
  });
  j.updateIntent('c1', { status: 'filled', filled: 0.5, avgPrice: 60010, feeQuote: 30 }, T0 + 10);
  j.recordDecision({
    signal: baseSignal(2, { epoch: 'e1', symbol: 'ETH', confidence: 0.2 }, T0 + 3_600_000) as Signal,
    receivedAt: T0 + 3_600_000,
    decidedAt: T0 + 3_600_001,
    decision: { verdict: 'skip', reason: 'skipped:confidence', detail: '0.2 < 0.6', legs: [] },
    intents: [],
  });
  const limit = {
    ...leg,
    market: 'ETH/USDT',
    type: 'limit' as const,
    amount: 3,
    refPrice: 3000,
    quote: 9000,
  };
  j.recordDecision({
    signal: baseSignal(3, { epoch: 'e1', symbol: 'ETH', catalyst: 'fda' }, T0 + 7_200_000) as Signal,
    receivedAt: T0 + 7_200_000,
    decidedAt: T0 + 7_200_001,
    decision: { verdict: 'trade', reason: 'trade:entry', legs: [limit] },
    intents: [{ clientOrderId: 'c2', leg: limit }],
  });
  const common = {
    event: 'fill',
    orderId: 'B2',
    clientOrderId: 'c2',
    market: 'ETH/USDT',
    side: 'buy' as const,
    status: 'open' as const,
    legs: [],
    source: 'stream' as const,
  };
  const at1 = T0 + 7_200_100;
  const at2 = T0 + 7_200_200;
  j.applyBrokerEvent(
    { ...common, key: 'k1', filled: 0.5, average: 3000, executionId: 'x-1', qty: 0.5, price: 3000, at: at1 },
    at1,
  );
  j.applyBrokerEvent(
    { ...common, key: 'k2', filled: 2, average: 3006, executionId: 'x-2', qty: 1.5, price: 3008, at: at2 },
    at2,
  );
  j.close();
}
