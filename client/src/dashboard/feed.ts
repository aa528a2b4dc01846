import { randomBytes } from 'node:crypto';
import { REASONS, isReasonCode } from '../decide/reasons.js';
import type { ChangeRow, DecisionRow, IntentRow, Journal, RedecisionEventRow } from '../journal/index.js';
import type { DashboardEvent, FeedRow, KillSwitchState, OrderRow, Presence } from './api.js';
import { readPresence } from './presence.js';

/**
 * The dashboard's live feed: the journal's change log (client/src/journal/changes.ts: a decision made, an
 * order intent created or changed, the kill switch flipped) as events with a gapless seq, kept in a bounded ring
 * so a page that reconnects resumes from its last seq. `PRAGMA data_version` (moves only when another connection
 * committed, e.g. `run` in this process or another) says when to read `changes WHERE id > last`.
 *
 * The epoch is random per start: the seq is this process's numbering; a page holding another epoch reloads
 * its snapshot instead of resuming (the protocol's epoch_mismatch).
 */

export const RING_SIZE = 2000;
/** Rows read per poll at most; a burst larger than this is read over the next polls. */
const BATCH = 500;
const PRESENCE_EVERY_MS = 1000;

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

/** A change row as a page event (undefined: a kind the page does not show yet). */
export function changeEvent(
  c: ChangeRow,
): DistributiveOmit<DashboardEvent, 'seq' | 'epoch' | 'at'> | undefined {
  const d = c.data;
  switch (c.kind) {
    case 'decision':
    case 'redecision': {
      const redecision = c.kind === 'redecision';
      const detail = str(d['detail']);
      const reason = str(d['reason']) ?? '?';
      return {
        kind: 'decision',
        decision: {
          key: `${c.kind}:${num(d['row_id']) ?? c.id}`,
          epoch: c.epoch ?? '',
          seq: c.seq ?? 0,
          symbol: c.symbol ?? '?',
          verdict: str(d['verdict']) ?? '?',
          reason,
          reason_text: reasonText(reason),
          detail: detail === null ? null : detail.slice(0, 1000),
          decided_at: num(d['decided_at']) ?? c.at,
          catalyst: str(d['catalyst']),
          action: str(d['action']),
          direction: str(d['direction']),
          price: num(d['price']),
          redecision,
        },
      };
    }
    case 'order':
      return { kind: 'order', order: orderRow(d as unknown as IntentRow) };
    case 'kill_switch':
      return {
        kind: 'kill_switch',
        kill_switch: killState({ on: d['on'] === true, reason: str(d['reason']) ?? undefined }),
      };
    default:
      return undefined;
  }
}

export class DashboardFeed {
  readonly epoch = `dash-${randomBytes(6).toString('hex')}`;
  private readonly ring: DashboardEvent[] = [];
  /**
   * Starts at 1, not 0: in the shared subscribe rule from_seq 0 means "from the oldest stored", so a page whose
   * snapshot said head 0 would, after the ring trimmed, be replayed from the middle instead of told `trimmed`.
   */
  private head = 1;
  private version = -1;
  /** The last journal change turned into events: the next poll reads `changes WHERE id > lastChange`. */
  private lastChange: number;
  /** Presence is judged by time as well (a heartbeat going stale writes nothing): looked at every second. */
  private presenceAt = 0;
  private presenceKey = '';

  constructor(
    private readonly journal: Journal,
    private readonly now: () => number = Date.now,
  ) {
    // Events are changes after this start; what happened before is in the snapshot.
    this.lastChange = journal.lastChangeId();
    this.version = journal.dashboard().dataVersion();
  }

  /** The presence the page was last told (the snapshot carries it too). */
  presence(): Presence {
    return this.lastPresence ?? readPresence(this.journal, this.now());
  }
  private lastPresence: Presence | undefined;

  private lookAtPresence(now: number, out: DashboardEvent[]): void {
    this.presenceAt = now;
    const p = readPresence(this.journal, now);
    const key = JSON.stringify(p);
    this.lastPresence = p;
    if (key === this.presenceKey) return;
    const first = this.presenceKey === '';
    this.presenceKey = key;
    if (!first) this.push({ kind: 'presence', presence: p }, out);
  }

  private push(e: DistributiveOmit<DashboardEvent, 'seq' | 'epoch' | 'at'>, out: DashboardEvent[]): void {
    const ev = { ...e, seq: ++this.head, epoch: this.epoch, at: this.now() } as DashboardEvent;
    this.ring.push(ev);
    if (this.ring.length > RING_SIZE) this.ring.shift();
    out.push(ev);
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
   * Read the journal's change log past the last change seen and return it as new events. `force`: look even if
   * data_version did not move (a change made on THIS connection, e.g. the dashboard's own pause, does not move it).
   */
  poll(force = false): DashboardEvent[] {
    const out: DashboardEvent[] = [];
    const now = this.now();
    if (force || now - this.presenceAt >= PRESENCE_EVERY_MS) this.lookAtPresence(now, out);
    const v = this.journal.dashboard().dataVersion();
    if (!force && v === this.version) return out;
    this.version = v;
    const changes = this.journal.changesAfter(this.lastChange, BATCH);
    for (const c of changes) {
      this.lastChange = c.id;
      const e = changeEvent(c);
      if (e) this.push(e, out);
    }
    // A kill switch or halt moves the header at once, not at the next second.
    if (changes.some((c) => c.kind === 'kill_switch' || c.kind === 'halt')) this.lookAtPresence(now, out);
    // A burst larger than BATCH: read the rest on the next tick even if no other commit moves data_version.
    if (changes.length === BATCH) this.version = -1;
    return out;
  }
}

export function killState(ks: { on: boolean; reason?: string | undefined }): KillSwitchState {
  return ks.on ? { on: true, reason: (ks.reason ?? '').slice(0, 300) } : { on: false };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
