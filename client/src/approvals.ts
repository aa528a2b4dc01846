import type { Signal } from '@catalyst-signal/shared';
import { approvalStep, type Decision } from './decide/index.js';
import type { OpenApprovalRow } from './journal/index.js';
import { recordAgain, type PipelineDeps } from './pipeline.js';

/**
 * Approval mode's runner (docs/client.md, "Approval"), driven by the journal alone so a restart picks up where it
 * stopped, like the open's work (at-open.ts):
 *  - an approved entry is decided again NOW through the venue's same pure decision (prices, exposure, kill switch,
 *    session, every filter and limit) and its intents get the deterministic client order ids the signal always
 *    has (pipeline.ts intentsOf): the second decision and intents commit once, so a kill before or after the
 *    approval neither loses the order nor places it twice (the executor's reconcile sends or finds it);
 *  - a rejected entry, or one past its deadline (a restart included), is journaled as skipped.
 * The answer itself is written by whoever received it (dashboard POST, ntfy action): this only reads it.
 */
export class Approvals {
  private running: Promise<number> | undefined;

  constructor(
    private readonly d: PipelineDeps,
    /** One readable line per thing done (stdout for `run`). */
    private readonly report?: ((line: string) => void) | undefined,
  ) {}

  /** One look; concurrent callers share the look in progress. The number of entries settled. */
  check(): Promise<number> {
    return (this.running ??= this.once().finally(() => (this.running = undefined)));
  }

  private async once(): Promise<number> {
    let settled = 0;
    for (const a of this.d.journal.approvals.open()) if (await this.settle(a)) settled += 1;
    return settled;
  }

  private async settle(a: OpenApprovalRow): Promise<boolean> {
    const { journal, venue, executor, log } = this.d;
    const step = approvalStep(a, this.d.now());
    if (step.kind === 'wait') return false;
    const signal = JSON.parse(a.signal) as Signal;
    let decision: Decision =
      step.kind === 'skip'
        ? { verdict: 'skip', reason: step.reason, detail: step.detail, legs: [] }
        : await venue.decide(signal, this.d.now(), {
            waitedMs: step.waitedMs,
            held: a.first_reason === 'deferred:until_open' || undefined,
          });
    // An approval is not held a second time (the session closed while the friend looked): it ends here.
    if (decision.reason.startsWith('deferred:'))
      decision = {
        verdict: 'skip',
        reason: 'skipped:market_closed',
        detail: `approved, but ${decision.detail ?? decision.reason}`,
        legs: [],
      };
    const recorded = recordAgain(this.d, signal, decision, this.d.now());
    if (!recorded) return false;
    ({ decision } = recorded);
    const { intents } = recorded;
    this.report?.(
      `#${signal.seq} ${signal.symbol} ${a.state === 'approved' ? `approved (${a.via ?? '?'})` : a.state}, decided again: ${decision.reason}${decision.detail ? ` (${decision.detail})` : ''}`,
    );
    for (const i of intents) await executor.execute(journal.intent(i.clientOrderId)!);
    log.info(
      {
        seq: signal.seq,
        symbol: signal.symbol,
        verdict: decision.verdict,
        reason: decision.reason,
        via: a.via,
      },
      'approval settled',
    );
    return true;
  }
}
