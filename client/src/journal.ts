import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { Signal } from '@catalyst-signal/shared';
import type { Decision, DecisionState, OrderLeg, Position } from './decide/index.js';
import { utcDay } from './decide/index.js';

/**
 * The local journal: the only file that touches SQLite. WAL + synchronous=FULL so a decision, its order
 * intents and the cursor are on disk together before any order is sent (write-ahead) - a crash at any
 * point leaves either nothing or a complete record to reconcile from.
 */

export type IntentStatus = 'pending' | 'open' | 'filled' | 'canceled' | 'rejected' | 'abandoned';
export const FINAL_STATUSES: ReadonlySet<IntentStatus> = new Set([
  'filled',
  'canceled',
  'rejected',
  'abandoned',
]);

export interface IntentRow {
  client_order_id: string;
  epoch: string;
  seq: number;
  leg: string;
  market: string;
  side: 'buy' | 'sell';
  /** stop_loss / take_profit: a limit order (price) with a trigger (stop_loss / take_profit column). */
  type: 'market' | 'limit' | 'stop_loss' | 'take_profit';
  amount: number;
  price: number | null;
  ref_price: number;
  status: IntentStatus;
  exchange_order_id: string | null;
  filled: number;
  avg_price: number | null;
  fee_quote: number;
  fee_base: number;
  attempts: number;
  error: string | null;
  stop_loss: number | null;
  take_profit: number | null;
  created_at: number;
  updated_at: number;
}

export interface DecisionRow {
  id: number;
  epoch: string;
  seq: number;
  symbol: string;
  verdict: string;
  reason: string;
  detail: string | null;
  received_at: number;
  decided_at: number;
  legs: string;
  signal: string;
}

export interface IntentUpdate {
  status: IntentStatus;
  exchangeOrderId?: string | undefined;
  /** Cumulative filled base amount. */
  filled?: number | undefined;
  avgPrice?: number | undefined;
  /** Cumulative fees, converted to quote / charged in base. */
  feeQuote?: number | undefined;
  feeBase?: number | undefined;
  error?: string | undefined;
  attempts?: number | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT, epoch TEXT NOT NULL, seq INTEGER NOT NULL, symbol TEXT NOT NULL,
  verdict TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT, received_at INTEGER NOT NULL, decided_at INTEGER NOT NULL,
  legs TEXT NOT NULL, signal TEXT NOT NULL, UNIQUE (epoch, seq));
CREATE TABLE IF NOT EXISTS intents (
  client_order_id TEXT PRIMARY KEY, epoch TEXT NOT NULL, seq INTEGER NOT NULL, leg TEXT NOT NULL,
  market TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, amount REAL NOT NULL, price REAL, ref_price REAL NOT NULL,
  status TEXT NOT NULL, exchange_order_id TEXT, filled REAL NOT NULL DEFAULT 0, avg_price REAL,
  fee_quote REAL NOT NULL DEFAULT 0, fee_base REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
  stop_loss REAL, take_profit REAL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (epoch, seq, leg));
CREATE TABLE IF NOT EXISTS positions (market TEXT PRIMARY KEY, amount REAL NOT NULL, cost REAL NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pnl (id INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL, market TEXT NOT NULL,
  realized REAL NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS gaps (id INTEGER PRIMARY KEY AUTOINCREMENT, epoch TEXT NOT NULL, from_seq INTEGER NOT NULL,
  to_seq INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS paper_balances (asset TEXT PRIMARY KEY, free REAL NOT NULL);
CREATE TABLE IF NOT EXISTS paper_orders (client_order_id TEXT PRIMARY KEY, body TEXT NOT NULL);
`;

const SQL = {
  getMeta: 'SELECT value FROM meta WHERE key = ?',
  setMeta:
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  delMeta: 'DELETE FROM meta WHERE key = ?',
  insertDecision: `INSERT INTO decisions (epoch, seq, symbol, verdict, reason, detail, received_at, decided_at, legs, signal)
    VALUES (@epoch, @seq, @symbol, @verdict, @reason, @detail, @received_at, @decided_at, @legs, @signal)`,
  insertIntent: `INSERT INTO intents (client_order_id, epoch, seq, leg, market, side, type, amount, price, ref_price, status,
    stop_loss, take_profit, created_at, updated_at) VALUES (@client_order_id, @epoch, @seq, @leg, @market, @side, @type,
    @amount, @price, @ref_price, 'pending', @stop_loss, @take_profit, @now, @now)`,
  getIntent: 'SELECT * FROM intents WHERE client_order_id = ?',
  openIntents: `SELECT * FROM intents WHERE status IN ('pending', 'open') ORDER BY created_at, client_order_id`,
  updateIntent: `UPDATE intents SET status = @status, exchange_order_id = COALESCE(@exchange_order_id, exchange_order_id),
    filled = @filled, avg_price = @avg_price, fee_quote = @fee_quote, fee_base = @fee_base, error = @error,
    attempts = @attempts, updated_at = @now WHERE client_order_id = @client_order_id`,
  positions: 'SELECT market, amount, cost FROM positions WHERE amount > 0 ORDER BY market',
  getPosition: 'SELECT market, amount, cost FROM positions WHERE market = ?',
  upsertPosition: `INSERT INTO positions (market, amount, cost, updated_at) VALUES (@market, @amount, @cost, @now)
    ON CONFLICT(market) DO UPDATE SET amount = excluded.amount, cost = excluded.cost, updated_at = excluded.updated_at`,
  insertPnl: 'INSERT INTO pnl (day, market, realized, at) VALUES (?, ?, ?, ?)',
  dailyPnl: 'SELECT COALESCE(SUM(realized), 0) AS v FROM pnl WHERE day = ?',
  ordersSince: `SELECT COUNT(*) AS n FROM intents WHERE created_at >= ? AND status != 'abandoned'`,
  lastTrades: `SELECT market, MAX(created_at) AS at FROM intents WHERE status != 'abandoned' GROUP BY market`,
  insertGap: 'INSERT INTO gaps (epoch, from_seq, to_seq, reason, at) VALUES (?, ?, ?, ?, ?)',
  gaps: 'SELECT * FROM gaps ORDER BY id DESC LIMIT ?',
  paperBalance: 'SELECT free FROM paper_balances WHERE asset = ?',
  paperBalances: 'SELECT asset, free FROM paper_balances ORDER BY asset',
  setPaperBalance: `INSERT INTO paper_balances (asset, free) VALUES (?, ?) ON CONFLICT(asset) DO UPDATE SET free = excluded.free`,
  getPaperOrder: 'SELECT body FROM paper_orders WHERE client_order_id = ?',
  putPaperOrder: 'INSERT INTO paper_orders (client_order_id, body) VALUES (?, ?)',
} as const;

const EPS = 1e-12;

export class Journal {
  private readonly db: Database.Database;
  private readonly st: { [K in keyof typeof SQL]: Database.Statement };

  private constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a committed decision/intent survives power loss, not just a process crash.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.st = Object.fromEntries(
      Object.entries(SQL).map(([k, v]) => [k, this.db.prepare(v)]),
    ) as Journal['st'];
  }

  /** Open (and create) a journal; `:memory:` gives a throwaway one (replay). */
  static open(path: string): Journal {
    return new Journal(path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- meta ----
  meta(key: string): string | undefined {
    return (this.st.getMeta.get(key) as { value: string } | undefined)?.value;
  }
  setMeta(key: string, value: string | undefined): void {
    if (value === undefined) this.st.delMeta.run(key);
    else this.st.setMeta.run(key, value);
  }

  cursor(): { epoch: string | undefined; seq: number } {
    return { epoch: this.meta('cursor_epoch'), seq: Number(this.meta('cursor_seq') ?? 0) };
  }

  /** Used when a new epoch is accepted explicitly or when the first subscribe fixes the starting point. */
  setCursor(epoch: string, seq: number): void {
    this.db.transaction(() => {
      this.setMeta('cursor_epoch', epoch);
      this.setMeta('cursor_seq', String(seq));
    })();
  }

  /** Forget the cursor (after an operator accepted a new epoch): the next run starts like a fresh install. */
  resetCursor(): void {
    this.db.transaction(() => {
      this.setMeta('cursor_epoch', undefined);
      this.setMeta('cursor_seq', undefined);
    })();
  }

  /** Per-installation random salt of clientOrderIds: two installations never collide on one account. */
  installSalt(): string {
    let salt = this.meta('install_salt');
    if (!salt) {
      salt = randomBytes(6)
        .toString('base64url')
        .replace(/[^A-Za-z0-9]/g, 'x')
        .slice(0, 8);
      this.setMeta('install_salt', salt);
    }
    return salt;
  }

  pinnedKey(): { fingerprint: string; jwk: Record<string, unknown> } | undefined {
    const fp = this.meta('pinned_fingerprint');
    const jwk = this.meta('pinned_jwk');
    return fp && jwk ? { fingerprint: fp, jwk: JSON.parse(jwk) as Record<string, unknown> } : undefined;
  }
  pinKey(fingerprint: string, jwk: Record<string, unknown>): void {
    this.db.transaction(() => {
      this.setMeta('pinned_fingerprint', fingerprint);
      this.setMeta('pinned_jwk', JSON.stringify(jwk));
    })();
  }

  killSwitch(): { on: boolean; reason?: string | undefined } {
    const v = this.meta('kill_switch');
    return v ? { on: true, reason: v } : { on: false };
  }
  setKillSwitch(reason: string | undefined): void {
    this.setMeta('kill_switch', reason);
  }

  /** A halt is set by the client itself (epoch changed, key changed) and needs an explicit operator action. */
  halted(): string | undefined {
    return this.meta('halted');
  }
  setHalted(reason: string | undefined): void {
    this.setMeta('halted', reason);
  }

  // ---- decisions + intents (one transaction, then the cursor) ----

  recordDecision(args: {
    signal: Signal;
    receivedAt: number;
    decidedAt: number;
    decision: Decision;
    intents: { clientOrderId: string; leg: OrderLeg }[];
  }): void {
    const { signal, decision } = args;
    this.db.transaction(() => {
      this.st.insertDecision.run({
        epoch: signal.epoch,
        seq: signal.seq,
        symbol: signal.symbol,
        verdict: decision.verdict,
        reason: decision.reason,
        detail: decision.detail ?? null,
        received_at: args.receivedAt,
        decided_at: args.decidedAt,
        legs: JSON.stringify(decision.legs),
        signal: JSON.stringify(signal),
      });
      for (const { clientOrderId, leg } of args.intents) {
        this.st.insertIntent.run({
          client_order_id: clientOrderId,
          epoch: signal.epoch,
          seq: signal.seq,
          leg: leg.leg,
          market: leg.market,
          side: leg.side,
          type: leg.type,
          amount: leg.amount,
          price: leg.limitPrice ?? null,
          ref_price: leg.refPrice,
          stop_loss: leg.stopLoss ?? null,
          take_profit: leg.takeProfit ?? null,
          now: args.decidedAt,
        });
      }
      this.setMeta('cursor_epoch', signal.epoch);
      this.setMeta('cursor_seq', String(signal.seq));
    })();
  }

  hasDecision(epoch: string, seq: number): boolean {
    return (
      this.db.prepare('SELECT 1 FROM decisions WHERE epoch = ? AND seq = ?').get(epoch, seq) !== undefined
    );
  }

  /** Accept a gap loudly: journal it and move the cursor past it. */
  recordGap(epoch: string, fromSeq: number, toSeq: number, reason: string, now: number): void {
    this.db.transaction(() => {
      this.st.insertGap.run(epoch, fromSeq, toSeq, reason, now);
      this.setMeta('cursor_epoch', epoch);
      this.setMeta('cursor_seq', String(toSeq));
    })();
  }

  gaps(limit = 20): { epoch: string; from_seq: number; to_seq: number; reason: string; at: number }[] {
    return this.st.gaps.all(limit) as never;
  }

  intent(clientOrderId: string): IntentRow | undefined {
    return this.st.getIntent.get(clientOrderId) as IntentRow | undefined;
  }

  /** Add an intent decided after the fact (protective orders); a second call for the same (seq, leg) is a no-op. */
  addIntent(
    i: Pick<
      IntentRow,
      | 'client_order_id'
      | 'epoch'
      | 'seq'
      | 'leg'
      | 'market'
      | 'side'
      | 'type'
      | 'amount'
      | 'price'
      | 'ref_price'
      | 'stop_loss'
      | 'take_profit'
    >,
    now: number,
  ): IntentRow {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO intents (client_order_id, epoch, seq, leg, market, side, type, amount, price, ref_price, status, stop_loss, take_profit, created_at, updated_at)
         VALUES (@client_order_id, @epoch, @seq, @leg, @market, @side, @type, @amount, @price, @ref_price, 'pending', @stop_loss, @take_profit, @now, @now)`,
      )
      .run({ ...i, now });
    return this.db
      .prepare('SELECT * FROM intents WHERE epoch = ? AND seq = ? AND leg = ?')
      .get(i.epoch, i.seq, i.leg) as IntentRow;
  }

  /** Filled entries with a stop/take-profit price and no protective intent yet (crash between the two). */
  unprotectedEntries(): IntentRow[] {
    return this.db
      .prepare(
        `SELECT e.* FROM intents e WHERE e.leg = 'entry' AND e.status = 'filled' AND (e.stop_loss IS NOT NULL OR e.take_profit IS NOT NULL)
         AND NOT EXISTS (SELECT 1 FROM intents p WHERE p.epoch = e.epoch AND p.seq = e.seq AND p.leg IN ('sl', 'tp'))`,
      )
      .all() as IntentRow[];
  }

  openIntents(): IntentRow[] {
    return this.st.openIntents.all() as IntentRow[];
  }

  intentsFor(epoch: string, seq: number): IntentRow[] {
    return this.db
      .prepare('SELECT * FROM intents WHERE epoch = ? AND seq = ? ORDER BY leg')
      .all(epoch, seq) as IntentRow[];
  }

  /**
   * Record what the exchange says about an intent and apply the fill DELTA to the position, atomically, so a
   * fill reported twice (reconcile after a timeout, restart) is counted once.
   */
  updateIntent(clientOrderId: string, u: IntentUpdate, now: number): IntentRow {
    return this.db.transaction(() => {
      const prev = this.intent(clientOrderId);
      if (!prev) throw new Error(`unknown intent ${clientOrderId}`);
      const filled = Math.max(prev.filled, u.filled ?? prev.filled);
      const avg = u.avgPrice ?? prev.avg_price;
      const feeQuote = Math.max(prev.fee_quote, u.feeQuote ?? prev.fee_quote);
      const feeBase = Math.max(prev.fee_base, u.feeBase ?? prev.fee_base);
      const dAmount = filled - prev.filled;
      if (dAmount > EPS || feeQuote - prev.fee_quote > EPS || feeBase - prev.fee_base > EPS) {
        const dValue = filled * (avg ?? 0) - prev.filled * (prev.avg_price ?? 0);
        this.applyFill(prev, dAmount, dValue, feeQuote - prev.fee_quote, feeBase - prev.fee_base, now);
      }
      this.st.updateIntent.run({
        client_order_id: clientOrderId,
        status: u.status,
        exchange_order_id: u.exchangeOrderId ?? null,
        filled,
        avg_price: avg,
        fee_quote: feeQuote,
        fee_base: feeBase,
        error: u.error ?? prev.error,
        attempts: u.attempts ?? prev.attempts,
        now,
      });
      return this.intent(clientOrderId)!;
    })();
  }

  private applyFill(
    i: IntentRow,
    dAmount: number,
    dValue: number,
    dFeeQuote: number,
    dFeeBase: number,
    now: number,
  ): void {
    const pos = (this.st.getPosition.get(i.market) as Position | undefined) ?? {
      market: i.market,
      amount: 0,
      cost: 0,
    };
    if (i.side === 'buy') {
      pos.amount += dAmount - dFeeBase;
      pos.cost += dValue + dFeeQuote;
    } else {
      const basis = pos.amount > EPS ? pos.cost * Math.min(1, dAmount / pos.amount) : 0;
      const realized = dValue - dFeeQuote - basis;
      pos.amount = Math.max(0, pos.amount - dAmount);
      pos.cost = pos.amount > EPS ? pos.cost - basis : 0;
      this.st.insertPnl.run(utcDay(now), i.market, realized, now);
    }
    this.st.upsertPosition.run({ ...pos, now });
  }

  totalRealized(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(realized), 0) AS v FROM pnl').get() as { v: number }).v;
  }

  positions(): Position[] {
    return this.st.positions.all() as Position[];
  }

  /** Risk-relevant state; the balance part comes from the exchange adapter. */
  decisionState(now: number, balances: { equity: number; freeQuote: number }): DecisionState {
    const dayStart = Date.parse(utcDay(now) + 'T00:00:00Z');
    const lastTradeAt: Record<string, number> = {};
    for (const r of this.st.lastTrades.all() as { market: string; at: number }[])
      lastTradeAt[r.market] = r.at;
    return {
      killSwitch: this.killSwitch().on,
      positions: this.positions(),
      dailyPnl: (this.st.dailyPnl.get(utcDay(now)) as { v: number }).v,
      ordersToday: (this.st.ordersSince.get(dayStart) as { n: number }).n,
      lastTradeAt,
      equity: balances.equity,
      freeQuote: balances.freeQuote,
    };
  }

  decisions(
    f: {
      verdict?: string | undefined;
      reason?: string | undefined;
      symbol?: string | undefined;
      sinceMs?: number | undefined;
      limit?: number | undefined;
    } = {},
  ): DecisionRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, arg: unknown) => {
      where.push(clause);
      args.push(arg);
    };
    if (f.verdict) add('verdict = ?', f.verdict);
    if (f.reason) add('reason LIKE ?', `%${f.reason}%`);
    if (f.symbol) add('symbol = ?', f.symbol.toUpperCase());
    if (f.sinceMs !== undefined) add('decided_at >= ?', f.sinceMs);
    const sql = `SELECT * FROM decisions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, f.limit ?? 50) as DecisionRow[];
  }

  reasonCounts(): { verdict: string; reason: string; n: number }[] {
    return this.db
      .prepare(
        'SELECT verdict, reason, COUNT(*) AS n FROM decisions GROUP BY verdict, reason ORDER BY n DESC',
      )
      .all() as never;
  }

  allIntents(): IntentRow[] {
    return this.db.prepare('SELECT * FROM intents ORDER BY created_at, client_order_id').all() as IntentRow[];
  }

  // ---- paper exchange storage (same journal, so status/history look the same in paper mode) ----

  paperBalances(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.st.paperBalances.all() as { asset: string; free: number }[]) out[r.asset] = r.free;
    return out;
  }
  /** Initialise the paper wallet once. */
  ensurePaperWallet(quote: string, amount: number): void {
    if (this.meta('paper_initialised')) return;
    this.db.transaction(() => {
      this.st.setPaperBalance.run(quote, amount);
      this.setMeta('paper_initialised', '1');
    })();
  }
  paperOrder(clientOrderId: string): unknown {
    const r = this.st.getPaperOrder.get(clientOrderId) as { body: string } | undefined;
    return r ? JSON.parse(r.body) : undefined;
  }
  /** Store a simulated order and its balance changes atomically. */
  putPaperOrder(clientOrderId: string, order: unknown, deltas: Record<string, number>): void {
    this.db.transaction(() => {
      for (const [asset, d] of Object.entries(deltas)) {
        const cur = (this.st.paperBalance.get(asset) as { free: number } | undefined)?.free ?? 0;
        this.st.setPaperBalance.run(asset, cur + d);
      }
      this.st.putPaperOrder.run(clientOrderId, JSON.stringify(order));
    })();
  }
}
