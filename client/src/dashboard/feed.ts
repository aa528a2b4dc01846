import { randomBytes } from 'node:crypto';
import { REASONS, isReasonCode } from '../decide/reasons.js';
import type { DecisionRow, IntentRow, Journal, RedecisionEventRow } from '../journal/index.js';
import type { DashboardEvent, FeedRow, KillSwitchState, OrderRow } from './api.js';

/**
 * The dashboard's live feed: journal changes (a decision made, an order intent created or changed, the kill
 * switch flipped) as events with a gapless seq, kept in a bounded ring so a page that reconnects resumes from
 * its last seq. Changes are found by polling `PRAGMA data_version` (changes only when another connection
 * committed, e.g. `run` in this process or another), then reading only rows past the last ones seen.
 *
 * The epoch is random per start: the seq is this process's numbering; a page holding another epoch reloads
 * its snapshot instead of resuming (the protocol's epoch_mismatch).
 */

export const RING_SIZE = 2000;
/** Rows read per poll at most; a burst larger than this is read over the next polls. */
const BATCH = 500;

function parseSignal(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function reasonText(code: string): string {
  return isReasonCode(code) ? REASONS[code] : code;
}

export function feedRow(d: DecisionRow): FeedRow {
  const s = parseSignal(d.signal);
  return {
    key: `decision:${d.id}`,
    epoch: d.epoch,
    seq: d.seq,
    symbol: d.symbol,
    verdict: d.verdict,
    reason: d.reason,
    reason_text: reasonText(d.reason),
    detail: d.detail === null ? null : d.detail.slice(0, 1000),
    decided_at: d.decided_at,
    catalyst: str(s['catalyst']),
    action: str(s['action']),
    direction: str(s['direction']),
    price: num(s['price']),
    redecision: false,
  };
}

export function redecisionRow(r: RedecisionEventRow): FeedRow {
  return {
    key: `redecision:${r.rid}`,
    epoch: r.epoch,
    seq: r.seq,
    symbol: r.symbol ?? '?',
    verdict: r.verdict,
    reason: r.reason,
    reason_text: reasonText(r.reason),
    detail: r.detail === null ? null : r.detail.slice(0, 1000),
    decided_at: r.decided_at,
    catalyst: null,
    action: null,
    direction: null,
    price: null,
    redecision: true,
  };
}

export function orderRow(i: IntentRow): OrderRow {
  return {
    client_order_id: i.client_order_id,
    epoch: i.epoch,
    seq: i.seq,
    leg: i.leg,
    market: i.market,
    side: i.side,
    type: i.type,
    amount: i.amount,
    price: i.price,
    status: i.status,
    filled: i.filled,
    avg_price: i.avg_price,
    stop_loss: i.stop_loss,
    take_profit: i.take_profit,
    error: i.error === null ? null : i.error.slice(0, 1000),
    updated_at: i.updated_at,
  };
}

const intentSig = (i: IntentRow) => `${i.status}|${i.filled}|${i.avg_price}|${i.updated_at}`;

export class DashboardFeed {
  readonly epoch = `dash-${randomBytes(6).toString('hex')}`;
  private readonly ring: DashboardEvent[] = [];
  private head = 0;
  private version = -1;
  private lastDecisionId: number;
  private lastRedecision: number;
  private lastIntentAt: number;
  /** Intents at or after lastIntentAt, by id -> what was last reported (a row updated twice in one ms). */
  private intentSeen = new Map<string, string>();
  private kill: string;

  constructor(
    private readonly journal: Journal,
    private readonly now: () => number = Date.now,
  ) {
    const q = journal.dashboard();
    // Events are changes after this start; what happened before is in the snapshot.
    this.lastDecisionId = q.maxDecisionId();
    this.lastRedecision = q.maxRedecisionRowid();
    this.lastIntentAt = q.maxIntentUpdate();
    for (const i of q.intentsChangedSince(this.lastIntentAt, BATCH))
      this.intentSeen.set(i.client_order_id, intentSig(i));
    this.kill = JSON.stringify(journal.killSwitch());
    this.version = q.dataVersion();
  }

  headSeq(): number {
    return this.head;
  }
  /** Oldest seq still in the ring (head + 1 when empty). */
  firstSeq(): number {
    return this.ring[0]?.seq ?? this.head + 1;
  }

  /** Events after `seq`, or undefined when some of them left the ring (the page must reload its snapshot). */
  since(seq: number): DashboardEvent[] | undefined {
    if (seq >= this.head) return [];
    if (seq + 1 < this.firstSeq()) return undefined;
    return this.ring.filter((e) => e.seq > seq);
  }

  /**
   * Read what changed since the last poll and return it as new events. `force`: look even if data_version did
   * not move (a change made on THIS connection, e.g. the dashboard's own pause, does not move it).
   */
  poll(force = false): DashboardEvent[] {
    const q = this.journal.dashboard();
    const v = q.dataVersion();
    if (!force && v === this.version) return [];
    this.version = v;
    const out: DashboardEvent[] = [];
    const push = (e: DistributiveOmit<DashboardEvent, 'seq' | 'epoch' | 'at'>) => {
      const ev = { ...e, seq: ++this.head, epoch: this.epoch, at: this.now() } as DashboardEvent;
      this.ring.push(ev);
      if (this.ring.length > RING_SIZE) this.ring.shift();
      out.push(ev);
    };
    for (const d of q.decisionsAfter(this.lastDecisionId, BATCH)) {
      this.lastDecisionId = d.id;
      push({ kind: 'decision', decision: feedRow(d) });
    }
    for (const r of q.redecisionsAfter(this.lastRedecision, BATCH)) {
      this.lastRedecision = r.rid;
      push({ kind: 'decision', decision: redecisionRow(r) });
    }
    const changed = q.intentsChangedSince(this.lastIntentAt, BATCH);
    for (const i of changed) {
      const sig = intentSig(i);
      if (this.intentSeen.get(i.client_order_id) === sig) continue;
      if (i.updated_at > this.lastIntentAt) {
        this.lastIntentAt = i.updated_at;
        // Only rows at the newest timestamp can be read again by the next `>=` scan: forget older ones.
        for (const [k, s] of this.intentSeen) if (!s.endsWith(`|${i.updated_at}`)) this.intentSeen.delete(k);
      }
      this.intentSeen.set(i.client_order_id, sig);
      push({ kind: 'order', order: orderRow(i) });
    }
    const ks = this.journal.killSwitch();
    const k = JSON.stringify(ks);
    if (k !== this.kill) {
      this.kill = k;
      push({ kind: 'kill_switch', kill_switch: killState(ks) });
    }
    return out;
  }
}

export function killState(ks: { on: boolean; reason?: string | undefined }): KillSwitchState {
  return ks.on ? { on: true, reason: (ks.reason ?? '').slice(0, 300) } : { on: false };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
