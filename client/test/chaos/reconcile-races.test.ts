import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { CcxtAdapter } from '../../src/exchange/ccxt.js';
import {
  ExchangeUncertain,
  type ExchangeAdapter,
  type OrderRequest,
  type OrderState,
} from '../../src/exchange/index.js';
import { Executor } from '../../src/executor.js';
import { Journal } from '../../src/journal/index.js';
import { clientOrderId } from '../../src/order-id.js';
import { startBinanceEmulator, type BinanceEmulator } from '../helpers/binance-emulator.js';
import { chaosDir } from '../helpers/chaos.js';
import { testConfig } from '../helpers/config.js';
import { testLog } from '../helpers/logger.js';
import { baseSignal } from '../helpers/signals.js';

// `run` reconciles unfinished intents on a 30 s timer (commands/run.ts) while the pipeline executes new
// orders, and a reconcile that waits on a slow exchange can outlast the timer. Those runs are concurrent.
// Chaos on that seam: the real Executor and Journal, the real ccxt.binance against the emulator, and one
// order request lost in the network at the worst moment. Exactly one order per clientOrderId must survive it.

let emu: BinanceEmulator;
let journal: Journal;
let live: CcxtAdapter;

beforeEach(async () => {
  emu = await startBinanceEmulator({ apiKey: 'k', secret: 's', balances: { USDT: 1000 } });
  journal = Journal.open(join(chaosDir('cc-race-'), 'j.sqlite'));
});
afterEach(async () => {
  await live?.close();
  journal.close();
  await emu.close();
});

async function setup(): Promise<{ executor: Executor; lossy: LossyExchange }> {
  const config = testConfig({
    mode: 'live',
    exchange: { id: 'binance', base_url: emu.url, timeout_ms: 1000 },
    risk: { cooldown_per_symbol_ms: 0 },
  });
  live = await CcxtAdapter.create({
    config,
    secrets: { serverKey: 'x', exchangeApiKey: 'k', exchangeSecret: 's', exchangePassword: undefined },
  });
  await live.loadMarkets();
  const lossy = new LossyExchange(live);
  return { executor: new Executor(journal, lossy, config, testLog), lossy };
}

/** The real adapter, except that chosen createOrder requests are lost on the way (the client sees a timeout). */
class LossyExchange implements ExchangeAdapter {
  readonly kind = 'live' as const;
  readonly venue = 'crypto_spot' as const;
  loseNext = 0;
  /** Runs when a lost request's timeout surfaces, before the executor sees it. */
  onLoss: (() => void) | undefined;
  constructor(private readonly inner: CcxtAdapter) {}
  get quote() {
    return this.inner.quote;
  }
  loadMarkets() {
    return this.inner.loadMarkets();
  }
  market(s: string) {
    return this.inner.market(s);
  }
  ticker(s: string) {
    return this.inner.ticker(s);
  }
  balances() {
    return this.inner.balances();
  }
  async createOrder(req: OrderRequest): Promise<OrderState> {
    if (this.loseNext > 0) {
      this.loseNext--;
      this.onLoss?.();
      throw new ExchangeUncertain('RequestTimeout: binance POST /api/v3/order (lost in the network)');
    }
    return this.inner.createOrder(req);
  }
  fetchOrder(id: string, market: string) {
    return this.inner.fetchOrder(id, market);
  }
  close() {
    return this.inner.close();
  }
}

/** Journal a traded decision for seq 1 (write-ahead, as the pipeline does) and return its pending intent. */
function journalIntent(): string {
  const signal = baseSignal(1) as Signal;
  const id = clientOrderId(journal.installSalt(), signal.epoch, 1, 'entry');
  const leg = {
    leg: 'entry',
    market: 'BTC/USDT',
    side: 'buy',
    type: 'market',
    amount: 0.0004,
    refPrice: 60000,
  } as const;
  journal.recordDecision({
    signal,
    receivedAt: Date.now(),
    decidedAt: Date.now(),
    decision: { verdict: 'trade', reason: 'trade:entry', legs: [leg] } as never,
    intents: [{ clientOrderId: id, leg: leg as never }],
  });
  return id;
}

describe('concurrent reconcile and execution', () => {
  it('two reconcile runs overlap (the 30 s timer fires while one waits on a slow exchange): one order', async () => {
    const { executor } = await setup();
    const id = journalIntent(); // killed before the send: pending, never seen by the exchange
    await Promise.all([executor.reconcileAll(), executor.reconcileAll()]);
    expect(emu.ordersFor(id), 'orders with one clientOrderId').toHaveLength(1);
    expect(journal.intent(id)!.status).toBe('filled');
  });

  it('the timer reconcile runs while the pipeline retries a lost order request: one order', async () => {
    const { executor, lossy } = await setup();
    const id = journalIntent();
    let reconcile: Promise<unknown> | undefined;
    lossy.loseNext = 1;
    lossy.onLoss = () => (reconcile = executor.reconcileAll());
    await executor.execute(journal.intent(id)!);
    await reconcile;
    expect(emu.ordersFor(id), 'orders with one clientOrderId').toHaveLength(1);
    const row = journal.intent(id)!;
    expect(row.status).toBe('filled');
    expect(journal.positions()[0]!.amount).toBeCloseTo(emu.balances.get('BTC')!, 12);
  });
});
