import type { Signal } from '@catalyst-signal/shared';
import {
  exitCanSell,
  heldExpiry,
  needsApproval,
  pendingApproval,
  type Decision,
  type Session,
} from './decide/index.js';
import type { IntentRow } from './journal/index.js';
import { protectAtOpen } from './protection.js';
import { recordAgain, type PipelineDeps } from './pipeline.js';
import type { AccountState } from './venue/account-state.js';

/** The broker's count of a symbol from the warm account state, undefined when that read is stale. */
const brokerHeldFrom =
  (state: AccountState, now: () => number) =>
  (symbol: string): number | undefined =>
    state.stale(['positions'], now())
      ? undefined
      : (state.positions().find((p) => p.symbol === symbol)?.qty ?? 0);

/**
 * The regular open's work on a venue with sessions (us_equity) (docs/equities.md, "At the open"), driven by the journal alone so
 * a restart picks up where it stopped:
 *  1. every signal held by hold_until_open is decided again through the same pure decideEquity (every filter and
 *     limit, the kill switch included) exactly once: the second decision and its intents commit together, and a
 *     signal already decided again is never decided again; one past its hold age is journaled as skipped. An
 *     exit held while no sell could be placed is decided again the same way in the first session that can sell
 *     (pre-market or after-hours too with session_policy extended), with no hold age;
 *  2. every filled extended-hours entry with stop/target levels gets its protective exit for the filled shares
 *     (OCO, stop or limit), as the leg `protect` of its signal: a journaled intent first, a deterministic id,
 *     sent and reconciled like every other order.
 * `check()` is cheap when there is nothing to do (two indexed reads, no broker call); `run` calls it on a timer
 * and on each incoming signal, tests call it with an injected clock.
 */

export interface AtOpenResult {
  session: Session['kind'] | undefined;
  redecided: number;
  expired: number;
  protectedOrders: number;
}

const NOTHING: AtOpenResult = { session: undefined, redecided: 0, expired: 0, protectedOrders: 0 };

export class AtOpen {
  private running: Promise<AtOpenResult> | undefined;
  /** Lines already reported: a protection that waits says why once, not on every look. */
  private readonly said = new Set<string>();

  constructor(
    private readonly d: PipelineDeps,
    /** One readable line per thing done (stdout for `run`). */
    private readonly report?: ((line: string) => void) | undefined,
  ) {}

  /** One look at the open; concurrent callers (timer, signal) share the look in progress. */
  check(): Promise<AtOpenResult> {
    return (this.running ??= this.once().finally(() => (this.running = undefined)));
  }

  private say(line: string): void {
    this.report?.(line);
  }

  private async once(): Promise<AtOpenResult> {
    const { journal, config, log, venue } = this.d;
    // A venue without trading sessions (crypto spot) has no open to wait for.
    if (!venue.session) return NOTHING;
    const held = journal.heldSignals();
    const due = journal.protectDue();
    if (!held.length && !due.length) return NOTHING;
    const now = this.d.now();
    let session: Session | undefined;
    try {
      session = await venue.session(now);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'session unknown (broker clock/calendar); looking again later');
    }
    const out: AtOpenResult = { session: session?.kind, redecided: 0, expired: 0, protectedOrders: 0 };
    for (const h of held) {
      const signal = JSON.parse(h.signal) as Signal;
      // A held exit has no hold age: it waits for a session that can sell, however long that is.
      const exit = h.reason === 'deferred:exit_until_session';
      const past = exit ? undefined : heldExpiry(signal, now, config.equities);
      if (past) {
        const decision: Decision = { verdict: 'skip', reason: past.reason, detail: past.detail, legs: [] };
        if (this.record(signal, decision, now, exit)) out.expired += 1;
        continue;
      }
      const canTrade = exit
        ? session !== undefined && exitCanSell(config.equities.session_policy, session)
        : session?.kind === 'regular';
      if (!canTrade) continue;
      const decision = await venue.decide(signal, now, { held: true });
      // The broker's clock says closed after all (unscheduled closure): still held, look again later.
      if (decision.reason === 'deferred:until_open' || decision.reason === 'deferred:exit_until_session')
        continue;
      // Approval mode: an entry held until the open waits for the friend like any other (approvals.ts).
      if (needsApproval(config.approval, signal, decision)) {
        const at = this.d.now();
        const p = pendingApproval(config.approval, decision, at);
        const { epoch, seq } = signal;
        const detail = p.decision.detail ?? '';
        if (
          journal.approvals.holdAtOpen({ epoch, seq, decisionId: h.id, at, expiresAt: p.expiresAt, detail })
        )
          this.say(`#${seq} ${signal.symbol} held until the open, now waiting for approval: ${detail}`);
        continue;
      }
      const intents = this.record(signal, decision, this.d.now(), exit);
      if (!intents) continue;
      out.redecided += 1;
      for (const i of intents) await this.d.executor.execute(journal.intent(i.clientOrderId)!);
    }
    if (session?.kind === 'regular') {
      for (const e of journal.protectDue()) if (await this.protect(e)) out.protectedOrders += 1;
    }
    return out;
  }

  private record(signal: Signal, venueDecision: Decision, at: number, exit: boolean) {
    const recorded = recordAgain(this.d, signal, venueDecision, at);
    if (!recorded) return undefined;
    const { decision, intents } = recorded;
    this.d.log.info(
      { seq: signal.seq, symbol: signal.symbol, verdict: decision.verdict, reason: decision.reason },
      exit ? 'held exit decided in a session that can sell' : 'held signal decided at the open',
    );
    this.say(
      `#${signal.seq} ${signal.symbol} held until ${exit ? 'a session that can sell' : 'the open'}, decided again: ${decision.reason}${decision.detail ? ` (${decision.detail})` : ''}`,
    );
    return intents;
  }

  /** The protective exit of one filled extended-hours entry (protection.ts); true when an order was placed. */
  private protect(entry: IntentRow): Promise<boolean> {
    const { journal, config, log, venue, executor, now } = this.d;
    const deps = {
      journal,
      config,
      log,
      now,
      market: (s: string) => venue.exchange.market(s),
      execute: (row: IntentRow) => executor.execute(row),
      brokerHeld: venue.accountState && brokerHeldFrom(venue.accountState, now),
    };
    return protectAtOpen(deps, entry, (line, first) => {
      if (this.said.has(line)) return;
      this.said.add(line);
      first?.();
      this.say(line);
    });
  }
}
