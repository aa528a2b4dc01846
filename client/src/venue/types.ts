import type { Logger } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import type { Config, VenueKind } from '../config.js';
import type { Decision, MarketClock, Session } from '../decide/index.js';
import type { ExchangeAdapter } from '../exchange/index.js';
import type { BrokerEventSource } from '../exchange/types.js';
import type { AdoptionRow, Journal } from '../journal/index.js';
import type { AccountState } from './account-state.js';
import type { PositionIncident } from '../decide/reconcile.js';

/**
 * A venue, live or paper, as everything above it sees it: snapshot -> pure decide -> place -> follow. The driver
 * is chosen once from the config (venue/index.ts); callers never ask which venue it is. Optional members are
 * capabilities (colyseus' Transport): their presence is the check. See docs/client-venues.md.
 */
export interface DecideOpts {
  held?: boolean | undefined;
  waitedMs?: number | undefined;
}

export interface VenueDriver {
  /** What is traded: for logs and reports, never for a branch. */
  readonly venue: VenueKind;
  /** Where orders are placed and followed (the executor's adapter), live or paper. */
  readonly exchange: ExchangeAdapter;
  /**
   * Gather what this venue's decision needs (skipping every read the cheap pure checks make moot) and run its
   * pure decision. `held`: a signal held until the open, decided again; `waitedMs`: an entry approved after
   * waiting that long for the friend (its age limit grows by the wait, decide/approval.ts).
   */
  decide(signal: Signal, now: number, opts?: DecideOpts): Promise<Decision>;
  /**
   * The trading session at `now` as the broker sees it. Present on venues with sessions (us_equity): it is what
   * makes the open's work (held signals, protection of extended-hours fills) run at all. Throws when the broker
   * cannot be asked.
   */
  session?(now: number): Promise<Session>;
  /** A broker account that can be blocked: throws AccountNotTradable naming why. Live Alpaca only. */
  assertTradable?(): Promise<void>;
  /**
   * The broker's order events (follow.ts): streamed as they happen where the broker streams them (Alpaca's
   * trade_updates), else polled; always with a REST read-back, since no stream replays. Live venues only: a paper
   * twin's fills are its own. See docs/broker-events.md.
   */
  readonly events?: BrokerEventSource | undefined;
  /**
   * The broker account kept warm (live us_equity): background refreshes feed it, and so does the broker's event
   * stream (follow.ts applies each journaled event: accountState.apply({ kind: 'broker', event })).
   */
  readonly accountState?: AccountState | undefined;
  /**
   * Compare the journal's positions with the broker's and journal each new unexplained difference as an incident
   * (returned) once it survived a catch-up of the broker's order events (venue/reconcile-positions.ts). Live
   * us_equity: `run` calls it at start and on its reconcile timer.
   */
  reconcilePositions?(now: number): Promise<PositionIncident[]>;
  /**
   * Take the positions the broker holds and the journal cannot explain as this client's own (returned). Present
   * only with equities.outside_positions: adopt on live us_equity; `run` calls it once at start, before reconciling.
   */
  adoptOutside?(now: number): AdoptionRow[];
  /** A simulated market clock (paper twin with paper.market_clock): the market time is marketTime(clock, origin, now). */
  readonly marketClock?: { clock: MarketClock; origin: number } | undefined;
}

/** What a driver reads besides its venue: the config, the journal's state, a log and the clock. */
export interface DriverDeps {
  config: Config;
  journal: Journal;
  log: Logger;
  now?: (() => number) | undefined;
}
