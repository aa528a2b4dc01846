import type { Logger } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from './config.js';
import {
  gateIncidents,
  needsApproval,
  pendingApproval,
  rejectDecision,
  type Decision,
} from './decide/index.js';
import type { Executor } from './executor.js';
import type { IntentRow, Journal } from './journal/index.js';
import { clientOrderId } from './order-id.js';
import type { VenueDriver } from './venue/index.js';
import type { VerifyResult } from './connection.js';

/**
 * One signal through the pipeline, shared by `run` and `replay`:
 * the venue's driver gathers a snapshot (IO) and decides (pure) -> journal decision + intents + cursor (one
 * transaction) -> execute. Which venue it is was chosen once (venue/index.ts); nothing here asks.
 */

export interface PipelineDeps {
  config: Config;
  journal: Journal;
  venue: VenueDriver;
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

/** The decision as it may be journaled now: an incident journaled while the venue awaited the broker holds it. */
function gated(journal: Journal, decision: Decision): Decision {
  return gateIncidents(decision, (market) => journal.openIncident(market));
}

/**
 * A signal decided a second time (held until the open, or waiting for approval): its second decision and intents
 * commit together, once. Returns the decision journaled (after the incident gate) and the intents to execute, or
 * undefined when it was decided again already (a restart or a concurrent look wrote it first), so nothing is
 * placed twice.
 */
export function recordAgain(
  d: Pick<PipelineDeps, 'config' | 'journal'>,
  signal: Pick<Signal, 'epoch' | 'seq'>,
  venueDecision: Decision,
  at: number,
): { decision: Decision; intents: ReturnType<typeof intentsOf> } | undefined {
  const decision = gated(d.journal, venueDecision);
  const intents = intentsOf(d, signal, decision);
  const done = d.journal.recordRedecision({
    epoch: signal.epoch,
    seq: signal.seq,
    decidedAt: at,
    decision,
    intents,
  });
  return done ? { decision, intents } : undefined;
}

export async function processSignal(
  d: PipelineDeps,
  signal: Signal,
  verified: VerifyResult,
  receivedAt: number,
): Promise<Outcome> {
  const { journal } = d;
  // From here to the journal write nothing awaits: the incident gate's answer still holds when it commits.
  const decided = verified.ok
    ? gated(journal, await d.venue.decide(signal, d.now()))
    : rejectDecision('rejected:bad_signature', verified.why);
  const decidedAt = d.now();
  // Approval mode: an entry that passed everything waits for the friend instead (approvals.ts decides it again).
  const pending = needsApproval(d.config.approval, signal, decided)
    ? pendingApproval(d.config.approval, decided, decidedAt)
    : undefined;
  const decision = pending?.decision ?? decided;
  const intents = intentsOf(d, signal, decision);
  journal.recordDecision({
    signal,
    receivedAt,
    decidedAt,
    decision,
    intents,
    approvalExpiresAt: pending?.expiresAt,
  });
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
