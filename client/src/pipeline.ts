import type { Logger } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from './config.js';
import {
  actionOf,
  decide,
  exposure,
  filterSignal,
  rejectDecision,
  venueMarket,
  type Decision,
} from './decide/index.js';
import type { ExchangeAdapter } from './exchange/index.js';
import type { Executor } from './executor.js';
import type { IntentRow, Journal } from './journal/index.js';
import { clientOrderId } from './order-id.js';
import { decideEquitySignal } from './equity-snapshot.js';
import type { VerifyResult } from './connection.js';

/**
 * One signal through the pipeline, shared by `run` and `replay`:
 * gather a snapshot (IO) -> decide (pure) -> journal decision + intents + cursor (one transaction) -> execute.
 */

export interface PipelineDeps {
  config: Config;
  journal: Journal;
  exchange: ExchangeAdapter;
  executor: Executor;
  log: Logger;
  now: () => number;
}

export interface Outcome {
  decision: Decision;
  intents: IntentRow[];
}

/** The decision's legs with their deterministic ids: one per (signal, leg), whenever it is decided. */
export function intentsOf(
  d: Pick<PipelineDeps, 'config' | 'journal'>,
  signal: Pick<Signal, 'epoch' | 'seq'>,
  decision: Decision,
): { clientOrderId: string; leg: Decision['legs'][number] }[] {
  const salt = d.journal.installSalt();
  return decision.legs.map((leg) => ({
    clientOrderId: clientOrderId(
      salt,
      signal.epoch,
      signal.seq,
      leg.leg,
      d.config.execution.client_order_id_max_len,
    ),
    leg,
  }));
}

export async function processSignal(
  d: PipelineDeps,
  signal: Signal,
  verified: VerifyResult,
  receivedAt: number,
): Promise<Outcome> {
  const { config, journal, exchange } = d;
  let decision: Decision;
  if (!verified.ok) {
    decision = rejectDecision('rejected:bad_signature', verified.why);
  } else if (config.exchange.venue === 'us_equity') {
    decision = await decideEquitySignal(d, signal, d.now());
  } else {
    const now = d.now();
    // A signal of another asset class or quote currency never reaches the exchange, not even for a price.
    const venue = venueMarket(signal, config.exchange);
    const market = venue.ok ? exchange.market(venue.market) : undefined;
    // Only pay for exchange round trips when the signal survives the cheap checks. An exit skips the entry
    // filters (decide() does too) but needs something this client holds.
    const exit = actionOf(signal) === 'exit';
    const cheapSkip =
      journal.killSwitch().on ||
      !market ||
      (exit
        ? !journal.positions().some((p) => p.market === market.symbol && p.amount > 0)
        : filterSignal(signal, now, config.filters) !== undefined);
    let ticker: number | undefined;
    let freeQuote: number | undefined = 0;
    if (!cheapSkip) {
      ticker = await exchange.ticker(market.symbol);
      // No balance, no sizing: an exchange outage is a journaled skip, not a crash of the whole client.
      freeQuote = await exchange.balances().then(
        (b) => b.free[exchange.quote] ?? 0,
        (e: Error) => (d.log.warn({ err: e.message }, 'balance unavailable'), undefined),
      );
    }
    if (freeQuote === undefined) {
      decision = {
        verdict: 'skip',
        reason: 'skipped:exchange_unavailable',
        detail: 'balance could not be read',
        legs: [],
      };
    } else {
      const positions = journal.positions();
      const state = journal.decisionState(d.now(), { freeQuote, equity: freeQuote + exposure(positions) });
      decision = decide(config, { signal, now: d.now(), market, ticker, state });
    }
  }
  const intents = intentsOf(d, signal, decision);
  journal.recordDecision({ signal, receivedAt, decidedAt: d.now(), decision, intents });
  d.log.info(
    {
      seq: signal.seq,
      symbol: signal.symbol,
      verdict: decision.verdict,
      reason: decision.reason,
      detail: decision.detail,
    },
    'decision',
  );
  const rows: IntentRow[] = [];
  for (const i of intents) {
    // Obey a pause that arrived while we were deciding: the intent stays journaled and is reconciled later.
    rows.push(await d.executor.execute(journal.intent(i.clientOrderId)!));
  }
  return { decision, intents: rows };
}
