import { randomBytes } from 'node:crypto';
import { REASONS, isReasonCode } from '../decide/reasons.js';
import type { AdoptionRow, ChangeRow, DecisionRow, IntentRow, Journal } from '../journal/index.js';
import { isProtectiveLeg } from '../leg-text.js';
import { decisionText, fmt } from '../report.js';
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

/** An `info` signal skipped: nothing to act on, folded in the page (v1 `neutral` is the same thing). */
export function isInfo(verdict: string, reason: string): boolean {
  return verdict === 'skip' && (reason === 'skipped:action_info' || reason === 'skipped:neutral');
}

interface RowInput {
  key: string;
  epoch: string;
  seq: number;
  symbol: string;
  verdict: string;
  reason: string;
  detail: string | null;
  decided_at: number;
  signal: Record<string, unknown>;
  redecision: boolean;
  /** The signal's order intents (any state): a trade's text names them. */
  intents: readonly IntentRow[];
}

function buildRow(r: RowInput): FeedRow {
  const s = r.signal;
  const detail = r.detail === null ? null : r.detail.slice(0, 1000);
  return {
    key: r.key,
    kind: 'signal',
    epoch: r.epoch,
    seq: r.seq,
    symbol: r.symbol,
    verdict: r.verdict,
    reason: r.reason,
    reason_text: reasonText(r.reason),
    detail,
    decided_at: r.decided_at,
    catalyst: str(s['catalyst']),
    action: str(s['action']),
    direction: str(s['direction']),
    price: num(s['price']),
    headline: str(s['headline'])?.slice(0, 500) ?? null,
    // The CLI's own words (report.ts), so the page and `run` never disagree about why. Protective legs are left
    // to the page, which reads them with their live state from the orders (leg-text.ts).
    text: decisionText(
      { verdict: r.verdict, reason: r.reason, detail },
      r.intents.filter((i) => !isProtectiveLeg(i.leg)),
      undefined,
      false,
    ).slice(0, 1000),
    info: isInfo(r.verdict, r.reason),
    redecision: r.redecision,
  };
}

export function feedRow(d: DecisionRow, intents: readonly IntentRow[]): FeedRow {
  return buildRow({
    ...d,
    key: `decision:${d.id}`,
    signal: parseSignal(d.signal),
    redecision: false,
    intents,
  });
}

/**
 * A position taken over from the broker at start (journal/adoptions.ts) as a feed card: not a decision, but the
 * friend must see where shares they never bought here came from.
 */
export function adoptionRow(a: AdoptionRow): FeedRow {
  const price = a.avg_price >= 1 ? a.avg_price.toFixed(2) : fmt(a.avg_price);
  return {
    key: `adoption:${a.id}`,
    kind: 'adoption',
    epoch: '',
    seq: 0,
    symbol: a.symbol,
    verdict: 'adopted',
    reason: 'adopted',
    reason_text: 'held at the broker when the client started (equities.outside_positions: adopt)',
    detail: null,
    decided_at: a.at,
    catalyst: null,
    action: null,
    direction: null,
    price: a.avg_price,
    headline: null,
    text: `adopted ${fmt(a.qty)} ${a.symbol} at ${price} (held at the broker when the client started)`,
    info: false,
    redecision: false,
  };
}

/** What a change row needs from the journal beyond itself: the signal's intents and (redecisions) its signal. */
export interface RowLookup {
  intents(epoch: string, seq: number): IntentRow[];
  signal(epoch: string, seq: number): Record<string, unknown>;
}

export function journalLookup(journal: Journal): RowLookup {
  return {
    intents: (epoch, seq) => journal.intentsFor(epoch, seq),
    signal: (epoch, seq) => parseSignal(journal.dashboard().signalOf(epoch, seq) ?? '{}'),
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
    fee_quote: i.fee_quote,
    error: i.error === null ? null : i.error.slice(0, 1000),
    updated_at: i.updated_at,
  };
}

/** A change row as a page event (undefined: a kind the page does not show yet). */
export function changeEvent(
  c: ChangeRow,
  lookup: RowLookup,
): DistributiveOmit<DashboardEvent, 'seq' | 'epoch' | 'at'> | undefined {
  const d = c.data;
  switch (c.kind) {
    case 'decision':
    case 'redecision': {
      const redecision = c.kind === 'redecision';
      const epoch = c.epoch ?? '';
      const seq = c.seq ?? 0;
      return {
        kind: 'decision',
        decision: buildRow({
          key: `${c.kind}:${num(d['row_id']) ?? c.id}`,
          epoch,
          seq,
          symbol: c.symbol ?? '?',
          verdict: str(d['verdict']) ?? '?',
          reason: str(d['reason']) ?? '?',
          detail: str(d['detail']),
          decided_at: num(d['decided_at']) ?? c.at,
          // A decision change carries its signal's fields; a redecision's are the first decision's signal.
          signal: redecision ? lookup.signal(epoch, seq) : d,
          redecision,
          intents: lookup.intents(epoch, seq),
        }),
      };
    }
    case 'order':
      return { kind: 'order', order: orderRow(d as unknown as IntentRow) };
    case 'adoption':
      return { kind: 'adoption', adoption: adoptionRow(d as unknown as AdoptionRow) };
    case 'kill_switch':
      return {
        kind: 'kill_switch',
        kill_switch: killState({ on: d['on'] === true, reason: str(d['reason']) ?? undefined }),
      };
    case 'approval': {
      const state = str(d['state']);
      if (state !== 'pending' && state !== 'approved' && state !== 'rejected') return undefined;
      return { kind: 'approval', approval: { state, via: str(d['via']) } };
    }
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
  private readonly lookup: RowLookup;

  constructor(
    private readonly journal: Journal,
    private readonly now: () => number = Date.now,
  ) {
    this.lookup = journalLookup(journal);
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
      const e = changeEvent(c, this.lookup);
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
