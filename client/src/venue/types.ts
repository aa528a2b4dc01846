import type { Logger } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import type { Config, VenueKind } from '../config.js';
import type { Decision, MarketClock, Session } from '../decide/index.js';
import type { ExchangeAdapter } from '../exchange/index.js';
import type { BrokerEvent, BrokerEventSink, BrokerFollow } from '../exchange/types.js';
import type { Journal } from '../journal/index.js';
import type { AccountState } from './account-state.js';
import type { PositionIncident } from '../decide/reconcile.js';

/**
 * A venue, live or paper, as everything above it sees it: snapshot -> pure decide -> place -> follow. The driver
 * is chosen once from the config (venue/index.ts); callers never ask which venue it is. Optional members are
 * capabilities (colyseus' Transport): their presence is the check. See docs/client-venues.md.
 */
export interface VenueDriver {
  /** What is traded: for logs and reports, never for a branch. */
  readonly venue: VenueKind;
  /** Where orders are placed and followed (the executor's adapter), live or paper. */
  readonly exchange: ExchangeAdapter;
  /**
   * Gather what this venue's decision needs (skipping every read the cheap pure checks make moot) and run its
   * pure decision. `held`: a signal held until the open, decided again.
   */
  decide(signal: Signal, now: number, opts?: { held?: boolean | undefined }): Promise<Decision>;
  /**
   * The trading session at `now` as the broker sees it. Present on venues with sessions (us_equity): it is what
   * makes the open's work (held signals, protection of extended-hours fills) run at all. Throws when the broker
   * cannot be asked.
   */
  session?(now: number): Promise<Session>;
  /** A broker account that can be blocked: throws AccountNotTradable naming why. Live Alpaca only. */
  assertTradable?(): Promise<void>;
  /**
   * Follow the broker's order events as they happen (Alpaca's trade_updates stream). Present where the broker
   * streams them; the stream has no replay, so it comes with eventsSince. See docs/broker-events.md.
   */
  follow?(sink: BrokerEventSink): BrokerFollow;
  /** What the broker did since `since` (broker time, ms), read over REST as events with the stream's keys. */
  eventsSince?(since: number): Promise<BrokerEvent[]>;
  /**
   * The broker account kept warm (live us_equity): background refreshes feed it, and so may the broker's event
   * stream, through accountState.apply({ kind: 'order', ... }).
   */
  readonly accountState?: AccountState | undefined;
  /**
   * Compare the journal's positions with the broker's and journal each new unexplained difference as an incident
   * (returned) once it survived a catch-up of the broker's order events (venue/reconcile-positions.ts). Live
   * us_equity: `run` calls it at start and on its reconcile timer.
   */
  reconcilePositions?(now: number): Promise<PositionIncident[]>;
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
