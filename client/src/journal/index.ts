import type { Signal } from '@catalyst-signal/shared';
import type { Decision, DecisionState, EntryBlock, OrderLeg, Position } from '../decide/index.js';
import { utcDay } from '../decide/index.js';
import { ChangeLog, type ChangeRow, type DecisionChange } from './changes.js';
import { MetaStore } from './cursor.js';
import { DashboardQueries } from './dashboard-queries.js';
import { ExportQueries } from './export-queries.js';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { openDb, type Db } from './db.js';
import { DecisionLog, type DecisionFilter, type DecisionRow, type GapRow } from './decisions.js';
import { HeldStore, type HeldRow, type RedecisionRow } from './held.js';
import { IntentStore, type IntentRow, type IntentUpdate, type NewIntent } from './intents.js';
import { PaperAccount } from './paper-account.js';
import { OrderEventStore, type OrderEventRow } from './order-events.js';
import type { BrokerEvent } from '../exchange/types.js';
import { TlogState, type VerifiedCheckpointRow } from './tlog-state.js';
import { RepriceStore } from './reprices.js';
import { IncidentStore, type IncidentRow, type NewIncident } from './incidents.js';
import { AdoptionStore, type AdoptionRow } from './adoptions.js';
import { ApprovalStore } from './approvals.js';

export { FINAL_STATUSES } from './intents.js';
export type { IntentRow, IntentStatus, IntentUpdate, NewIntent } from './intents.js';
export type { DecisionRow, DecisionFilter, GapRow } from './decisions.js';
export type { OrderEventRow } from './order-events.js';
export { PROTECT_LEG, type HeldRow, type RedecisionRow } from './held.js';
export type { IncidentRow, NewIncident } from './incidents.js';
export type { ApprovalRow, ApprovalStore, OpenApprovalRow } from './approvals.js';
export { SCHEMA_VERSION, JournalVersionError } from './db.js';
export type { DashboardQueries, FillRow } from './dashboard-queries.js';
export type { ExportQueries, FillExportRow } from './export-queries.js';
export { CHANGE_KINDS, type ChangeKind, type ChangeRow, type DecisionChange } from './changes.js';
export type { VerifiedCheckpointRow } from './tlog-state.js';
export type { RepriceRow } from './reprices.js';
export type { AdoptionRow } from './adoptions.js';

/**
 * The local journal: the only folder that touches SQLite. WAL + synchronous=FULL so a decision, its order
 * intents and the cursor are on disk together before any order is sent (write-ahead) - a crash at any point
 * leaves either nothing or a complete record to reconcile from. This class is the public face; each concern
 * (meta/cursor, decisions, intents + positions, paper account) keeps its SQL beside its statements in its own file.
 */
export class Journal {
  private readonly db: Db;
  private readonly metaStore: MetaStore;
  private readonly log: DecisionLog;
  private readonly orders: IntentStore;
  private readonly paper: PaperAccount;
  private readonly heldStore: HeldStore;
  /** Appended only by this class's write methods, inside their transactions (changes.ts). */
  private readonly changeLog: ChangeLog;
  private readonly events: OrderEventStore;
  private readonly incidentStore: IncidentStore;
  private adoptionStore: AdoptionStore | undefined;
  /** Approval mode: waiting entries and the friend's answers (approvals.ts). */
  readonly approvals: ApprovalStore;

  private constructor(path: string) {
    this.db = openDb(path);
    this.metaStore = new MetaStore(this.db);
    this.log = new DecisionLog(this.db);
    this.orders = new IntentStore(this.db);
    this.heldStore = new HeldStore(this.db);
    this.changeLog = new ChangeLog(this.db);
    this.events = new OrderEventStore(this.db, this.orders);
    this.incidentStore = new IncidentStore(this.db);
    this.approvals = new ApprovalStore(this.db, this.changeLog, (e, s) => this.log.symbolOf(e, s));
    this.paper = new PaperAccount(this.db, this.metaStore);
  }

  /** Working-order replaces (working-orders.ts), write-ahead like intents. */
  get reprices(): RepriceStore {
    return (this.repriceStore ??= new RepriceStore(this.db));
  }
  private repriceStore: RepriceStore | undefined;

  /** Open (create, migrate) a journal; `:memory:` gives a throwaway one (replay). */
  static open(path: string): Journal {
    return new Journal(path);
  }

  /**
   * Open a journal that must already exist (status, history, dashboard, pause, resume): opening a missing one
   * would create an empty journal and answer "no decisions" for a mistyped --config.
   */
  static openExisting(path: string, configPath: string): Journal {
    if (!existsSync(path))
      throw new UsageError(
        `no journal at ${path}: is ${configPath} the config your \`run\` uses? (a journal is created by the first \`run\`)`,
      );
    return new Journal(path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The local dashboard's read queries, on this connection (open a Journal of its own to watch `run`'s). */
  dashboard(): DashboardQueries {
    return (this.dashboardQueries ??= new DashboardQueries(this.db));
  }
  private dashboardQueries: DashboardQueries | undefined;

  /** `catalyst-client export`'s streaming reads. */
  exportQueries(): ExportQueries {
    return new ExportQueries(this.db);
  }

  /** Schema version of the open journal (PRAGMA user_version). */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  // ---- meta, cursor, switches ----
  meta(key: string): string | undefined {
    return this.metaStore.get(key);
  }
  setMeta(key: string, value: string | undefined): void {
    this.metaStore.set(key, value);
  }
  cursor(): { epoch: string | undefined; seq: number } {
    return this.metaStore.cursor();
  }
  /** Used when a new epoch is accepted explicitly or when the first subscribe fixes the starting point. */
  setCursor(epoch: string, seq: number): void {
    this.metaStore.setCursor(epoch, seq);
  }
  /** Forget the cursor (after an operator accepted a new epoch): the next run starts like a fresh install. */
  resetCursor(): void {
    this.metaStore.resetCursor();
  }
  installSalt(): string {
    return this.metaStore.installSalt();
  }
  pinnedKey(): { fingerprint: string; jwk: Record<string, unknown> } | undefined {
    return this.metaStore.pinnedKey();
  }
  pinKey(fingerprint: string, jwk: Record<string, unknown>): void {
    this.metaStore.pinKey(fingerprint, jwk);
  }
  killSwitch(): { on: boolean; reason?: string | undefined } {
    const v = this.meta('kill_switch');
    return v ? { on: true, reason: v } : { on: false };
  }
  setKillSwitch(reason: string | undefined, now = Date.now()): void {
    this.db.transaction(() => {
      const was = this.meta('kill_switch');
      this.setMeta('kill_switch', reason);
      if (was !== reason)
        this.changeLog.append(
          'kill_switch',
          now,
          {},
          reason === undefined ? { on: false } : { on: true, reason },
        );
    })();
  }
  /** A halt is set by the client itself (epoch changed, key changed) and needs an explicit operator action. */
  halted(): string | undefined {
    return this.meta('halted');
  }
  setHalted(reason: string | undefined, now = Date.now()): void {
    this.db.transaction(() => {
      const was = this.meta('halted');
      this.setMeta('halted', reason);
      if (was !== reason) this.changeLog.append('halt', now, {}, { halted: reason ?? null });
    })();
  }

  // ---- change log (read side; the write methods here append) ----
  /** Changes after `id` (0: from the first), oldest first: the dashboard feed and notifications follow this. */
  changesAfter(id: number, limit = 500): ChangeRow[] {
    return this.changeLog.after(id, limit);
  }
  private refsOf(i: IntentRow): { symbol: string; epoch: string; seq: number } {
    return { symbol: this.log.symbolOf(i.epoch, i.seq) ?? i.market, epoch: i.epoch, seq: i.seq };
  }
  /** The newest change id (0 when none). */
  lastChangeId(): number {
    return this.changeLog.lastId();
  }

  // ---- transparency log: the latest verified checkpoint per origin ----
  verifiedCheckpoint(origin: string): VerifiedCheckpointRow | undefined {
    return (this.tlogState ??= new TlogState(this.db)).get(origin);
  }
  saveVerifiedCheckpoint(row: VerifiedCheckpointRow): void {
    (this.tlogState ??= new TlogState(this.db)).put(row);
  }
  private tlogState: TlogState | undefined;
  /** Every journaled signal of `epoch` as received (JSON), by seq: what `log verify` re-proves. */
  journaledSignals(epoch: string): IterableIterator<{ seq: number; signal: string }> {
    return this.db
      .prepare('SELECT seq, signal FROM decisions WHERE epoch = ? ORDER BY seq')
      .iterate(epoch) as IterableIterator<{ seq: number; signal: string }>;
  }
  /**
   * Every journaled us_equity signal with a price (JSON as received), oldest decision first: the ones the server
   * computes outcomes for, which `track-record verify` samples.
   */
  journaledEquitySignals(): { seq: number; signal: string }[] {
    return this.db
      .prepare(
        `SELECT seq, signal FROM decisions WHERE json_extract(signal, '$.asset_class') = 'us_equity'
          AND json_extract(signal, '$.price') IS NOT NULL ORDER BY id`,
      )
      .all() as { seq: number; signal: string }[];
  }
  journaledSignalCount(epoch: string): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM decisions WHERE epoch = ?').get(epoch) as { n: number }
    ).n;
  }

  // ---- decisions + intents (one transaction, then the cursor) ----
  recordDecision(args: {
    signal: Signal;
    receivedAt: number;
    decidedAt: number;
    decision: Decision;
    intents: { clientOrderId: string; leg: OrderLeg }[];
    /** Approval mode: the entry waits for the friend until then (its approvals row commits with the decision). */
    approvalExpiresAt?: number | undefined;
  }): void {
    const { signal, decision } = args;
    this.db.transaction(() => {
      const rowId = this.log.insert(signal, decision, args.receivedAt, args.decidedAt);
      if (args.approvalExpiresAt !== undefined)
        this.approvals.insert(signal.epoch, signal.seq, rowId, args.decidedAt, args.approvalExpiresAt);
      const refs = { symbol: signal.symbol, epoch: signal.epoch, seq: signal.seq };
      const change: DecisionChange = {
        row_id: rowId,
        verdict: decision.verdict,
        reason: decision.reason,
        detail: decision.detail ?? null,
        decided_at: args.decidedAt,
        catalyst: signal.catalyst,
        action: signal.action,
        direction: signal.direction ?? null,
        price: signal.price,
        headline: signal.headline,
      };
      this.changeLog.append('decision', args.decidedAt, refs, change);
      for (const { clientOrderId, leg } of args.intents) {
        this.orders.insertLeg(clientOrderId, signal.epoch, signal.seq, leg, args.decidedAt);
        this.changeLog.append('order', args.decidedAt, refs, this.orders.get(clientOrderId)!);
      }
      if (decision.avoidUntil !== undefined)
        this.log.avoid(signal.symbol, decision.avoidUntil, signal.epoch, signal.seq);
      this.metaStore.moveCursor(signal.epoch, signal.seq);
    })();
  }
  /**
   * The second decision of a held signal, with its intents, in one transaction; false (nothing written) when
   * it was decided again already: a restart or a second timer never decides it twice.
   */
  recordRedecision(args: {
    epoch: string;
    seq: number;
    decidedAt: number;
    decision: Decision;
    intents: { clientOrderId: string; leg: OrderLeg }[];
  }): boolean {
    return this.db.transaction(() => {
      const rowId = this.heldStore.insert(args.epoch, args.seq, args.decision, args.decidedAt);
      if (rowId === undefined) return false;
      const refs = { symbol: this.log.symbolOf(args.epoch, args.seq), epoch: args.epoch, seq: args.seq };
      const change: DecisionChange = {
        row_id: rowId,
        verdict: args.decision.verdict,
        reason: args.decision.reason,
        detail: args.decision.detail ?? null,
        decided_at: args.decidedAt,
      };
      this.changeLog.append('redecision', args.decidedAt, refs, change);
      for (const { clientOrderId, leg } of args.intents) {
        this.orders.insertLeg(clientOrderId, args.epoch, args.seq, leg, args.decidedAt);
        this.changeLog.append('order', args.decidedAt, refs, this.orders.get(clientOrderId)!);
      }
      return true;
    })();
  }
  /** Signals held by hold_until_open and not decided again yet, oldest first. */
  heldSignals(limit = 100): HeldRow[] {
    return this.heldStore.held(limit);
  }
  redecision(epoch: string, seq: number): RedecisionRow | undefined {
    return this.heldStore.get(epoch, seq);
  }
  /** Filled extended-hours entries whose protection (leg PROTECT_LEG) is due at the open. */
  protectDue(limit = 100): IntentRow[] {
    return this.heldStore.protectDue(limit);
  }
  hasDecision(epoch: string, seq: number): boolean {
    return this.log.has(epoch, seq);
  }
  /** Accept a gap loudly: journal it and move the cursor past it. */
  recordGap(epoch: string, fromSeq: number, toSeq: number, reason: string, now: number): void {
    this.db.transaction(() => {
      this.log.insertGap(epoch, fromSeq, toSeq, reason, now);
      this.changeLog.append('gap', now, { epoch, seq: toSeq }, { from_seq: fromSeq, to_seq: toSeq, reason });
      this.metaStore.moveCursor(epoch, toSeq);
    })();
  }
  gaps(limit = 20): GapRow[] {
    return this.log.gaps(limit);
  }
  decisions(f: DecisionFilter = {}): DecisionRow[] {
    return this.log.list(f);
  }
  reasonCounts(): { verdict: string; reason: string; n: number }[] {
    return this.log.reasonCounts();
  }
  /** Symbols under an entry block (avoid or exit signal) at `now` -> the block. */
  avoids(now: number): Record<string, EntryBlock> {
    return this.log.avoids(now);
  }

  intent(clientOrderId: string): IntentRow | undefined {
    return this.orders.get(clientOrderId);
  }
  /** Add an intent decided after the fact (protective orders); a second call for the same (seq, leg) is a no-op. */
  addIntent(i: NewIntent, now: number): IntentRow {
    return this.db.transaction(() => {
      const { row, added } = this.orders.add(i, now);
      if (added) this.changeLog.append('order', now, this.refsOf(row), row);
      return row;
    })();
  }
  /** Filled entries with a stop/take-profit price and no protective intent yet (crash between the two). */
  unprotectedEntries(): IntentRow[] {
    return this.orders.unprotectedEntries();
  }
  openIntents(): IntentRow[] {
    return this.orders.open();
  }
  intentsFor(epoch: string, seq: number): IntentRow[] {
    return this.orders.for(epoch, seq);
  }
  allIntents(): IntentRow[] {
    return this.orders.all();
  }
  updateIntent(clientOrderId: string, u: IntentUpdate, now: number): IntentRow {
    return this.db.transaction(() => {
      const prev = this.orders.get(clientOrderId);
      const row = this.orders.update(clientOrderId, u, now);
      // A reconcile that learns nothing new (same status, fill, price, error) is not a change.
      if (!prev || orderStateKey(prev) !== orderStateKey(row))
        this.changeLog.append('order', now, this.refsOf(row), row);
      return row;
    })();
  }
  /** P&L booked for `market` by the fill reported at `at` (an `order` change's time), or undefined. */
  realizedAt(market: string, at: number): number | undefined {
    return this.orders.realizedAt(market, at);
  }
  totalRealized(): number {
    return this.orders.totalRealized();
  }

  // ---- the broker's order events (journal/order-events.ts) ----
  /** Append a broker event once (by its key) and apply it to its intent and to the fill facts. */
  applyBrokerEvent(e: BrokerEvent, now: number): { fresh: boolean; intent: string | undefined } {
    return this.db.transaction(() => {
      const before = this.orders.get(e.clientOrderId);
      const r = this.events.apply(e, now);
      if (!r.fresh) return r;
      const row = r.intent ? this.orders.get(r.intent) : undefined;
      const refs = row ? this.refsOf(row) : { symbol: e.market };
      const { legs: _legs, ...event } = e;
      this.changeLog.append('order_event', now, refs, { ...event, intent: r.intent ?? null });
      // The event moved its own intent (status, fill, price): watchers of `order` changes see it like any update.
      if (row && before && orderStateKey(before) !== orderStateKey(row))
        this.changeLog.append('order', now, refs, row);
      return r;
    })();
  }
  /** Broker time of the newest journaled event (a catch-up reads from a little before it). */
  lastBrokerEventAt(): number | undefined {
    return this.events.lastAt();
  }
  orderEvents(limit = 50): OrderEventRow[] {
    return this.events.recent(limit);
  }
  orderEventsFor(clientOrderId: string): OrderEventRow[] {
    return this.events.forIntent(clientOrderId);
  }
  orderEventCount(): number {
    return this.events.count();
  }
  positions(): Position[] {
    return this.orders.positions();
  }

  /**
   * Risk-relevant state; the balance part comes from the exchange adapter. `dayStart` is when the daily limits'
   * day began (decide/ limitDay: New York midnight on us_equity); default the UTC day of `now`.
   */
  decisionState(
    now: number,
    balances: { equity: number; freeQuote: number },
    dayStart = Date.parse(utcDay(now) + 'T00:00:00Z'),
    /** Entries before this cannot trip the cooldown: lastTradeAt leaves them out (a year of symbols, not one). */
    entriesSince = -Infinity,
  ): DecisionState {
    return {
      killSwitch: this.killSwitch().on,
      positions: this.positions(),
      dailyPnl: this.orders.realizedSince(dayStart),
      ordersToday: this.orders.ordersSince(dayStart),
      lastTradeAt: this.orders.lastTradeAt(entriesSince),
      equity: balances.equity,
      freeQuote: balances.freeQuote,
      avoids: this.avoids(now),
    };
  }

  // ---- position incidents (reconciliation with the broker) ----
  /** Journal a position incident; a symbol with one still open keeps that one (created: false). */
  recordIncident(i: NewIncident, now: number): { row: IncidentRow; created: boolean } {
    return this.db.transaction(() => {
      const r = this.incidentStore.record(i, now);
      if (r.created) this.changeLog.append('incident', now, { symbol: r.row.symbol }, { ...r.row });
      return r;
    })();
  }
  /** The unacknowledged incident in a symbol: entries and exits there wait for the friend. */
  openIncident(symbol: string): IncidentRow | undefined {
    return this.incidentStore.openFor(symbol);
  }
  openIncidents(): IncidentRow[] {
    return this.incidentStore.open();
  }
  incidents(limit = 50): IncidentRow[] {
    return this.incidentStore.recent(limit);
  }
  /** What reconciliation needs to explain a difference: per market the last order change. */
  reconcileFacts(): { lastChange: Map<string, number> } {
    return { lastChange: this.incidentStore.lastChange() };
  }
  /** Acknowledge an incident: the broker's count becomes the journal's (journal/incidents.ts), in one transaction. */
  ackIncident(id: number, now: number): { row: IncidentRow; acked: boolean } | undefined {
    return this.db.transaction(() => {
      const r = this.incidentStore.ack(id, now);
      if (r?.acked) this.changeLog.append('incident', now, { symbol: r.row.symbol }, { ...r.row });
      return r;
    })();
  }
  // ---- adopted positions (equities.outside_positions: adopt) ----
  /**
   * Take shares the broker holds as this client's own: the adoption row, a fill fact at the broker's average entry
   * (positions derive from it: counted in exposure, sold by exits, compared by reconciliation) and a change row.
   */
  adoptPosition(a: { symbol: string; qty: number; avgPrice: number }, now: number): AdoptionRow {
    return this.db.transaction(() => {
      const row = (this.adoptionStore ??= new AdoptionStore(this.db)).insert(a, now);
      const fact = { order: `adopt:${row.id}`, market: a.symbol, side: 'buy' as const, cum: a.qty, at: now };
      this.orders.fills.add({ ...fact, avg: a.avgPrice, price: a.avgPrice }, now);
      this.changeLog.append('adoption', now, { symbol: a.symbol }, { ...row });
      return row;
    })();
  }
  adoptions(): AdoptionRow[] {
    return (this.adoptionStore ??= new AdoptionStore(this.db)).all();
  }
  /** Shares in `symbol` acknowledged as held outside this client. */
  outsideAcked(symbol: string): number | undefined {
    return this.incidentStore.outsideAcked(symbol);
  }

  /** Entry blocks and round trips for the equity rules (day/week starts are New York instants from the caller). */
  equityCounts(now: number, dayStart: number, weekStart: number) {
    return {
      avoids: this.avoids(now),
      roundTripsToday: this.orders.roundTripsSince(dayStart),
      roundTripsWeek: this.orders.roundTripsSince(weekStart),
    };
  }

  // ---- paper exchange storage ----
  paperBalances(): Record<string, number> {
    return this.paper.balances();
  }
  paperBalance(asset: string): number {
    return this.paper.balance(asset);
  }
  ensurePaperWallet(quote: string, amount: number): void {
    this.paper.ensureWallet(quote, amount);
  }
  paperOrder(clientOrderId: string): unknown {
    return this.paper.order(clientOrderId);
  }
  putPaperOrder(clientOrderId: string, order: unknown, deltas: Record<string, number>): void {
    this.paper.putOrder(clientOrderId, order, deltas);
  }
  cancelPaperOrder(clientOrderId: string): void {
    this.paper.cancelOrder(clientOrderId);
  }
  /** Simulated orders still resting (paper fill rules look at these on each price step). */
  paperOpenOrders(): unknown[] {
    return this.paper.openOrders();
  }
  writePaperOrders(
    orders: { id: string; body: unknown; isNew: boolean }[],
    deltas: Record<string, number>,
  ): void {
    this.paper.write(orders, deltas);
  }
}

/** The part of an intent a watcher cares about: when none of it moved, an update is not a change. */
function orderStateKey(i: IntentRow): string {
  return JSON.stringify([
    i.status,
    i.filled,
    i.avg_price,
    i.fee_quote,
    i.fee_base,
    i.error,
    i.exchange_order_id,
  ]);
}
