/**
 * What the client tells a person, as `as const` codes with a default priority each (ntfy's 1-5 scale: min, low,
 * default, high, max). A target picks the kinds it wants and a minimum priority; the message itself is built by
 * format.ts. Pure: no IO, no clock.
 */

export const NOTIFY_EVENTS = {
  /** An entry (or exit) order was sent to the broker: what, size, price, session. */
  trade_placed: 3,
  /** An order filled completely. */
  filled: 3,
  /** An order filled in part (more may follow). */
  partially_filled: 2,
  /** A stop or target leg filled, with the realised P&L of the round trip. */
  protective_filled: 4,
  /** The broker refused an order (definitive; it is never resent), with its reason. */
  broker_refused: 4,
  /** Reconciliation found the broker and the journal disagreeing. */
  incident: 4,
  /** The kill switch was turned on (`pause`) or off (`resume`). */
  kill_switch: 3,
  /** The signal server has been unreachable for longer than notify_lost_after_ms. */
  connection_lost: 4,
  /** The signal server is reachable again after a reported loss. */
  connection_back: 3,
  /** The checkpoints this client acts on lack the witness quorum (log.witness_policy) past within_ms: an alert. */
  witness_quorum_lost: 4,
  /** The witness quorum cosigns what this client acts on again. */
  witness_quorum_back: 3,
  /** Trading stopped (exit 3, 4 or 5), with the exact recovery command. */
  trading_stopped: 5,
  /** After the New York close: P&L, trades, open positions, skips by reason. */
  daily_summary: 3,
  /** Approval mode: an entry waits for the friend's approval (dashboard, or the ntfy message's buttons). */
  approval_requested: 4,
  /** `catalyst-client notify test`. */
  test: 3,
} as const;

export type NotifyEventKind = keyof typeof NOTIFY_EVENTS;
export const NOTIFY_EVENT_KINDS = Object.keys(NOTIFY_EVENTS) as [NotifyEventKind, ...NotifyEventKind[]];

/** 1 min, 2 low, 3 default, 4 high, 5 max (ntfy's names; Telegram/Discord show it as an emoji). */
export type Priority = 1 | 2 | 3 | 4 | 5;

/** One notification, service-neutral: each service file renders it within its own limits. */
export interface NotifyMessage {
  kind: NotifyEventKind;
  priority: Priority;
  /** One line, e.g. "TRADING STOPPED" or "bought 10 ABCD @ 2.50". */
  title: string;
  /** Plain text, a few lines. */
  body: string;
  /** Label -> value, shown as embed fields (Discord) or lines (elsewhere). */
  fields?: { name: string; value: string }[] | undefined;
  /** ms since the epoch when it happened. */
  at: number;
  /** approval_requested: the waiting entry, so a service with buttons (ntfy) can offer approve/reject. */
  approval?: { epoch: string; seq: number; decisionId: number } | undefined;
}

export function priorityOf(kind: NotifyEventKind): Priority {
  return NOTIFY_EVENTS[kind];
}
