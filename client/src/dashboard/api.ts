import { z } from 'zod';
import { WS_BEARER_PROTOCOL_PREFIX, WS_SUBPROTOCOL } from '@catalyst-signal/shared';

/**
 * The local dashboard's wire contract, imported by BOTH sides: the Node server (client/src/dashboard) and the
 * page (client/web). Only zod here (no Node, no DOM). The live feed speaks the signal protocol's control frames
 * (hello, subscribe/subscribed, caught_up, heartbeat; shared/src/frames.ts) so the page resumes with the same
 * stream logic the CLI uses; its item frames are `event` frames, one journal change each, with a gapless seq.
 */

export const DASHBOARD_PATHS = {
  snapshot: '/api/snapshot',
  killSwitch: '/api/kill-switch',
  login: '/api/login',
  stream: '/api/stream',
  /** GET ?epoch=&seq=: one signal's whole story (StorySchema). */
  story: '/api/story',
  /** POST ApprovalRequestSchema: approve or reject an entry waiting in approval mode. */
  approval: '/api/approval',
  /** GET ExportQuerySchema: the CSV `catalyst-client export <kind> --since` prints, as a download. */
  export: '/api/export',
} as const;

/** Most rows one dashboard download carries; beyond it the answer says to narrow `since` or use the CLI. */
export const EXPORT_MAX_ROWS = 50_000;

/** The kinds of `catalyst-client export` (client/src/export.ts EXPORT_KINDS; a test keeps them equal). */
export const ExportQuerySchema = z.strictObject({
  kind: z.enum(['decisions', 'orders', 'fills']),
  /** As `--since`: a duration back from now (30m, 2h, 7d) or an ISO date; none: everything. */
  since: z.string().min(1).max(40).optional(),
});
export type ExportQuery = z.infer<typeof ExportQuerySchema>;

/** The WebSocket subprotocols a page offers: this one, and `bearer.<token>` (browsers cannot set headers). */
export const DASHBOARD_WS_PROTOCOL = WS_SUBPROTOCOL;
export const BEARER_PROTOCOL_PREFIX = WS_BEARER_PROTOCOL_PREFIX;
/** The token is 32 random bytes, base64url: 43 characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const EVENT_FRAME = 'event';

const ms = z.number().int().min(0);
const seq = z.number().int().min(0);

export const FeedRowSchema = z.object({
  /** decision:<journal id>, redecision:<rowid> or adoption:<id>: stable across dashboard restarts. */
  key: z.string().max(80),
  /**
   * signal: a decision on a signal (expands to its story); adoption: shares the broker held at start, taken as
   * this client's own (equities.outside_positions: adopt): no signal, epoch '' and seq 0, verdict `adopted`.
   */
  kind: z.enum(['signal', 'adoption']),
  epoch: z.string().max(64),
  seq,
  symbol: z.string().max(64),
  verdict: z.string().max(32),
  reason: z.string().max(64),
  /** The reason catalogue's one-line meaning (client/src/decide/reasons.ts). */
  reason_text: z.string().max(300),
  detail: z.string().max(1000).nullable(),
  decided_at: ms,
  catalyst: z.string().max(64).nullable(),
  action: z.string().max(32).nullable(),
  direction: z.string().max(16).nullable(),
  price: z.number().nullable(),
  headline: z.string().max(500).nullable(),
  /** What `run` printed after the verdict (client/src/report.ts decisionText): the specific reason of a skip,
   *  the orders of a trade (their live state is in the orders). Protective legs (bracket stop / target, OCO)
   *  are not in it: the page words them with their live state from the orders (client/src/leg-text.ts). */
  text: z.string().max(1000),
  /** An `info` signal skipped (nothing to act on): folded in the page so actions stand out. */
  info: z.boolean(),
  /** True for the second decision of a signal held until the open. */
  redecision: z.boolean(),
});
export type FeedRow = z.infer<typeof FeedRowSchema>;

export const OrderRowSchema = z.object({
  client_order_id: z.string().max(80),
  epoch: z.string().max(64),
  seq,
  leg: z.string().max(32),
  market: z.string().max(64),
  side: z.enum(['buy', 'sell']),
  type: z.string().max(32),
  amount: z.number(),
  price: z.number().nullable(),
  status: z.string().max(32),
  filled: z.number(),
  avg_price: z.number().nullable(),
  /** Fees charged so far, in quote. */
  fee_quote: z.number(),
  stop_loss: z.number().nullable(),
  take_profit: z.number().nullable(),
  error: z.string().max(1000).nullable(),
  updated_at: ms,
});
export type OrderRow = z.infer<typeof OrderRowSchema>;

export const KillSwitchSchema = z.object({ on: z.boolean(), reason: z.string().max(300).optional() });
export type KillSwitchState = z.infer<typeof KillSwitchSchema>;

/**
 * What is running, as the journal says (client/src/presence.ts): `run`'s heartbeat, its signal server
 * connection, the broker stream. The dashboard judges staleness (a heartbeat too old, a pid gone) so the page
 * shows the truth even when `run` died without a word.
 */
export const PresenceSchema = z.object({
  /** ok: all green; warn: something to look at (behind, paused, broker unknown); bad: not trading as expected. */
  level: z.enum(['ok', 'warn', 'bad']),
  run: z.object({
    /** alive: a fresh heartbeat from a live pid; stale: beats stopped (killed, hung); stopped: it said so. */
    state: z.enum(['alive', 'stale', 'stopped', 'never']),
    at: ms.nullable(),
    mode: z.enum(['paper', 'live']).nullable(),
  }),
  server: z.object({
    /** connected | connecting | behind | lost | stopped as `run` wrote it; unknown when `run` is not alive. */
    state: z.string().max(32),
    since: ms.nullable(),
    detail: z.string().max(300).nullable(),
  }),
  broker: z.object({
    state: z.string().max(32),
    since: ms.nullable(),
    detail: z.string().max(300).nullable(),
  }),
  /** When the newest decided signal was received. */
  last_signal_at: ms.nullable(),
  halted: z.string().max(300).nullable(),
  kill_switch: z.boolean(),
});
export type Presence = z.infer<typeof PresenceSchema>;

const base = { seq, epoch: z.string().max(64), at: ms };
export const DashboardEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('decision'), ...base, decision: FeedRowSchema }),
  z.object({ kind: z.literal('order'), ...base, order: OrderRowSchema }),
  /** A position adopted from the broker at start: a feed row of kind `adoption`. */
  z.object({ kind: z.literal('adoption'), ...base, adoption: FeedRowSchema }),
  z.object({ kind: z.literal('kill_switch'), ...base, kill_switch: KillSwitchSchema }),
  z.object({ kind: z.literal('presence'), ...base, presence: PresenceSchema }),
  /** Approval mode: an entry started waiting (at the open) or was answered; the page reloads its cards. */
  z.object({
    kind: z.literal('approval'),
    ...base,
    approval: z.object({
      state: z.enum(['pending', 'approved', 'rejected']),
      via: z.string().max(32).nullable(),
    }),
  }),
]);
export type DashboardEvent = z.infer<typeof DashboardEventSchema>;

export const EventFrameSchema = z.object({ type: z.literal(EVENT_FRAME), event: DashboardEventSchema });
export type EventFrame = z.infer<typeof EventFrameSchema>;

export const PositionSchema = z.object({
  market: z.string(),
  amount: z.number(),
  cost: z.number(),
  /** Average entry price paid per unit, fees excluded (they are `fees`). */
  entry: z.number(),
  /** Fees in the open position's cost basis (quote). */
  fees: z.number(),
  /** Last price this client recorded for the market (no broker call from the dashboard), and when. */
  price: z.number().nullable(),
  price_at: ms.nullable(),
  value: z.number().nullable(),
  unrealized: z.number().nullable(),
  protective: z.array(OrderRowSchema),
  /** Of `amount`, the shares adopted from the broker at start (still held, at most); 0 when none. */
  adopted: z.number(),
});
export type PositionView = z.infer<typeof PositionSchema>;

export const PnlBucketSchema = z.object({
  key: z.string(),
  realized: z.number(),
  unrealized: z.number(),
  entries: z.number().int(),
});
export type PnlBucket = z.infer<typeof PnlBucketSchema>;

/** Closed round trips (flat -> held -> flat, per market), fees included (client/src/dashboard/performance.ts). */
export const TradeStatsSchema = z.object({
  closed: z.number().int(),
  wins: z.number().int(),
  losses: z.number().int(),
  win_rate: z.number().nullable(),
  avg_win: z.number().nullable(),
  avg_loss: z.number().nullable(),
  open: z.number().int(),
});
export type TradeStatsView = z.infer<typeof TradeStatsSchema>;

export const SessionSchema = z.object({
  kind: z.enum(['pre', 'regular', 'after', 'closed']),
  /** When the session was computed on a simulated market clock (paper.market_clock), that market time. */
  market_time: ms.optional(),
});

/** An entry waiting for the friend's approval (approval mode): what it would buy and until when. */
export const PendingApprovalSchema = z.object({
  epoch: z.string().max(64),
  seq,
  symbol: z.string().max(64),
  detail: z.string().max(1000).nullable(),
  expires_at: ms,
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

export const ApprovalRequestSchema = z.strictObject({
  epoch: z.string().min(1).max(64),
  seq: z.number().int().min(0),
  action: z.enum(['approve', 'reject']),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequestSchema>;

/** done: journaled (run places or skips it within a second); too_late: answered, expired or decided already. */
export const ApprovalResponseSchema = z.object({ result: z.enum(['done', 'too_late']) });

export const SnapshotSchema = z.object({
  generated_at: ms,
  /** The live feed's position this snapshot reflects: subscribe from here. */
  stream: z.object({ epoch: z.string(), head_seq: seq }),
  mode: z.enum(['paper', 'live']),
  venue: z.string(),
  quote: z.string(),
  kill_switch: KillSwitchSchema,
  halted: z.string().nullable(),
  presence: PresenceSchema,
  /** us_equity only; null on crypto (no sessions). */
  session: SessionSchema.nullable(),
  feed: z.array(FeedRowSchema),
  /** Approval mode: entries waiting for an answer, oldest first. */
  approvals: z.array(PendingApprovalSchema),
  positions: z.array(PositionSchema),
  orders: z.array(OrderRowSchema),
  pnl: z.object({
    realized: z.number(),
    unrealized: z.number(),
    today_realized: z.number(),
    /** Paper: the simulated starting balance; live: 0 (the curve is then P&L, not account equity). */
    equity_start: z.number(),
  }),
  equity_curve: z.array(z.object({ at: ms, equity: z.number() })),
  pnl_by_catalyst: z.array(PnlBucketSchema),
  pnl_by_action: z.array(PnlBucketSchema),
  /** By the US session the decision met (pre / regular / after; n/a on crypto). */
  pnl_by_session: z.array(PnlBucketSchema),
  /** By the signal's confidence, in tenths ("0.5–0.6" ... "0.9–1.0"; none without one). */
  pnl_by_confidence: z.array(PnlBucketSchema),
  trades: TradeStatsSchema,
});
export type Snapshot = z.infer<typeof SnapshotSchema>;

/** One signal's story: its decision(s), every order leg with fills, and what it made or lost so far. */
export const StorySchema = z.object({
  epoch: z.string().max(64),
  seq,
  headline: z.string().max(500).nullable(),
  decisions: z.array(FeedRowSchema),
  orders: z.array(OrderRowSchema),
  pnl: z.object({
    /** What sales of the lot this signal bought realised so far (whoever sold it); null: nothing sold yet. */
    realized: z.number().nullable(),
    /** The rest of its lot marked at the last recorded price; null when none is left or no price. */
    unrealized: z.number().nullable(),
    fees: z.number(),
  }),
});
export type Story = z.infer<typeof StorySchema>;

export const StoryQuerySchema = z.object({
  epoch: z.string().min(1).max(64),
  seq: z.coerce.number().int().min(0),
});

export const KillSwitchRequestSchema = z.strictObject({
  on: z.boolean(),
  reason: z.string().min(1).max(200).optional(),
  /** The page sends this only after its confirmation dialog was accepted. */
  confirm: z.literal(true),
});
export type KillSwitchRequest = z.infer<typeof KillSwitchRequestSchema>;

export const LoginRequestSchema = z.strictObject({ password: z.string().min(1).max(200) });
export const LoginResponseSchema = z.object({ token: z.string().regex(TOKEN_PATTERN) });
