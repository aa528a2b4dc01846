import { randomUUID } from 'node:crypto';
import { nyToMs, type MarketCalendar } from './clock.js';
import { checkAsset, checkBracketPrices, checkShape } from './rules.js';
import {
  notFound,
  refuse,
  unprocessable,
  type EmuAccountSettings,
  type EmuAsset,
  type EmuOrder,
  type EmuPosition,
  type EmuQuote,
} from './types.js';

/**
 * The emulator's account: orders, positions, cash, and how they move. Orders are answered before they fill:
 * nothing fills on submission, only through fill() or a quote that crosses (match()), and only in a session the
 * order may trade in. DAY orders expire at the close of their trading day when the clock passes it.
 */

const OPEN = new Set(['accepted', 'new', 'partially_filled', 'held']);
export const isOpen = (o: EmuOrder) => OPEN.has(o.status);
const round9 = (x: number) => Math.round(x * 1e9) / 1e9;

export class Book {
  /** Parents and simple orders, in submission order (legs live inside their parent). */
  readonly orders: EmuOrder[] = [];
  readonly byId = new Map<string, EmuOrder>();
  /** Every client_order_id ever used: Alpaca refuses a reuse forever, also after a fill or cancel. */
  readonly usedClientIds = new Set<string>();
  readonly positions = new Map<string, EmuPosition>();
  readonly halted = new Set<string>();

  constructor(
    readonly assets: Map<string, EmuAsset>,
    readonly quotes: Map<string, EmuQuote>,
    readonly account: EmuAccountSettings,
    readonly cal: MarketCalendar,
    readonly now: () => number,
  ) {}

  quote(symbol: string): EmuQuote | undefined {
    const q = this.quotes.get(symbol);
    if (q) return q;
    const a = this.assets.get(symbol);
    return a ? { bid: a.price, ask: a.price, last: a.price } : undefined;
  }

  /** Open buy orders hold buying power until they fill or end (Alpaca: sells replenish only when filled). */
  reserved(): number {
    let sum = 0;
    for (const o of this.orders) {
      if (o.side !== 'buy' || !isOpen(o)) continue;
      if (o.notional !== undefined) sum += o.notional;
      else sum += ((o.qty ?? 0) - o.filled_qty) * (o.limit_price ?? this.quote(o.symbol)?.ask ?? 0);
    }
    return sum;
  }

  buyingPower(): number {
    return Math.max(0, this.account.cash * this.account.multiplier - this.reserved());
  }

  /** Shares not already promised to an open sell (a filled bracket's two legs promise the same shares once). */
  qtyAvailable(symbol: string): number {
    const held = this.positions.get(symbol)?.qty ?? 0;
    let promised = 0;
    for (const o of this.orders) {
      if (o.symbol !== symbol) continue;
      if (o.side === 'sell' && isOpen(o)) promised += (o.qty ?? 0) - o.filled_qty;
      // An OCO's stop leg sells the same shares as its parent: promised once.
      if (o.order_class === 'oco' && !o.parent) continue;
      const armed = o.legs.filter((l) => l.armed && isOpen(l) && l.side === 'sell');
      if (armed.length) promised += Math.max(...armed.map((l) => (l.qty ?? 0) - l.filled_qty));
    }
    return round9(Math.max(0, held - promised));
  }

  /** `overHeld`: the broker's own sale (see server.ts appSell), not bound by shares held for open orders. */
  submit(body: Record<string, unknown>, opts: { overHeld?: boolean } = {}): EmuOrder {
    const s = checkShape(body);
    if (this.account.trading_blocked || this.account.account_blocked || this.account.status !== 'ACTIVE')
      throw refuse('account is not authorized to trade');
    const asset = checkAsset(this.assets.get(s.symbol), s);
    if (s.clientOrderId !== undefined && this.usedClientIds.has(s.clientOrderId))
      throw unprocessable('client_order_id must be unique', 40010001);
    if (s.fractional && !asset.fractionable) throw refuse(`asset "${s.symbol}" is not fractionable`);
    if (s.fractional && s.extended && !asset.attributes.includes('fractional_eh_enabled'))
      throw unprocessable('fractional orders are not supported in extended hours for this asset');
    const q = this.quote(s.symbol)!;
    const held = this.positions.get(s.symbol)?.qty ?? 0;
    if (s.orderClass === 'bracket') {
      if ((s.side === 'sell' && held > 0) || (s.side === 'buy' && held < 0))
        throw unprocessable('bracket orders must be entry orders');
      checkBracketPrices(s, s.limit ?? (s.side === 'buy' ? q.ask : q.bid));
    }
    if (s.orderClass === 'oco' && !((s.side === 'sell' && held > 0) || (s.side === 'buy' && held < 0)))
      throw unprocessable('oco orders must be exit orders');
    if (s.side === 'buy') {
      const cost = s.notional ?? s.qty! * (s.limit ?? q.ask);
      const bp = this.buyingPower();
      if (cost > bp + 1e-9)
        throw refuse('insufficient buying power', {
          buying_power: bp.toFixed(2),
          cost_basis: cost.toFixed(2),
        });
    } else {
      const want = s.qty ?? s.notional! / q.bid;
      const avail = this.qtyAvailable(s.symbol);
      const canShort =
        held <= 0 &&
        this.account.shorting_enabled &&
        asset.shortable &&
        asset.easy_to_borrow &&
        !s.fractional;
      if (want > avail + 1e-9 && !canShort && !opts.overHeld)
        throw refuse(`insufficient qty available for order (requested: ${want}, available: ${avail})`, {
          symbol: s.symbol,
          available: String(avail),
          existing_qty: String(held),
          held_for_orders: String(round9(held - avail)),
        });
    }

    const now = this.now();
    const expires =
      s.tif === 'day' ? this.sessionEnd(this.cal.orderDay(now, s.extended), s.extended) : undefined;
    const make = (over: Partial<EmuOrder>): EmuOrder => {
      const o: EmuOrder = {
        id: randomUUID(),
        client_order_id: randomUUID(),
        symbol: s.symbol,
        side: s.side,
        type: s.type,
        time_in_force: s.tif,
        order_class: s.orderClass,
        qty: s.qty,
        notional: s.notional,
        filled_qty: 0,
        filled_avg_price: undefined,
        limit_price: s.limit,
        stop_price: s.stop,
        extended_hours: s.extended,
        status: 'accepted',
        created_at: now,
        filled_at: undefined,
        canceled_at: undefined,
        expired_at: undefined,
        expires_at: expires,
        legs: [],
        armed: true,
        body,
        ...over,
      };
      this.byId.set(o.id, o);
      this.usedClientIds.add(o.client_order_id);
      return o;
    };
    const parent = make({ client_order_id: s.clientOrderId ?? randomUUID() });
    if (s.orderClass === 'bracket') {
      const exitSide = s.side === 'buy' ? 'sell' : 'buy';
      const leg = { side: exitSide, status: 'held', armed: false, parent, extended_hours: false } as const;
      parent.legs.push(
        make({ ...leg, leg: 'take_profit', type: 'limit', limit_price: s.takeProfit, stop_price: undefined }),
        make({
          ...leg,
          leg: 'stop_loss',
          type: s.stopLoss!.limit === undefined ? 'stop' : 'stop_limit',
          stop_price: s.stopLoss!.stop,
          limit_price: s.stopLoss!.limit,
        }),
      );
    }
    if (s.orderClass === 'oco') {
      // Both sides live at once (the stop watches in the regular session only); one cancels the other.
      parent.legs.push(
        make({
          side: s.side,
          status: parent.status,
          armed: true,
          parent,
          extended_hours: false,
          leg: 'stop_loss',
          type: s.stopLoss!.limit === undefined ? 'stop' : 'stop_limit',
          limit_price: s.stopLoss!.limit,
          stop_price: s.stopLoss!.stop,
        }),
      );
    }
    this.orders.push(parent);
    return parent;
  }

  private sessionEnd(day: { date: string; close: string; sessionClose: string }, extended: boolean): number {
    return nyToMs(`${day.date}T${extended ? day.sessionClose : day.close}`);
  }

  /** May this order trade now? Market hours only, unless extended_hours (pre/after); stops: regular only. */
  tradableNow(o: EmuOrder): boolean {
    if (!isOpen(o) || !o.armed || this.halted.has(o.symbol)) return false;
    const s = this.cal.session(this.now());
    if (s === 'regular') return true;
    return (s === 'pre' || s === 'after') && o.extended_hours && o.type === 'limit';
  }

  fill(o: EmuOrder, qty?: number, price?: number): void {
    const q = this.quote(o.symbol)!;
    const px = price ?? (o.side === 'buy' ? q.ask : q.bid);
    const total = o.qty ?? round9(o.notional! / px);
    if (o.qty === undefined) o.qty = total;
    const n = round9(Math.min(qty ?? total - o.filled_qty, total - o.filled_qty));
    if (!(n > 0)) return;
    const pos = this.positions.get(o.symbol) ?? { symbol: o.symbol, qty: 0, avg_entry_price: 0 };
    const signed = o.side === 'buy' ? n : -n;
    if (Math.sign(pos.qty) !== -Math.sign(signed) || pos.qty === 0) {
      pos.avg_entry_price = (pos.avg_entry_price * Math.abs(pos.qty) + px * n) / (Math.abs(pos.qty) + n);
    }
    pos.qty = round9(pos.qty + signed);
    if (pos.qty === 0) this.positions.delete(o.symbol);
    else this.positions.set(o.symbol, pos);
    this.account.cash = Math.round((this.account.cash - signed * px) * 1e6) / 1e6;
    o.filled_avg_price = ((o.filled_avg_price ?? 0) * o.filled_qty + px * n) / (o.filled_qty + n);
    o.filled_qty = round9(o.filled_qty + n);
    const done = o.filled_qty >= total - 1e-9;
    o.status = done ? 'filled' : 'partially_filled';
    if (!done) return;
    o.filled_at = this.now();
    if (o.parent?.order_class === 'oco') {
      // The stop filled: the take-profit parent is cancelled.
      o.parent.status = 'canceled';
      o.parent.canceled_at = this.now();
      return;
    }
    if (o.order_class === 'oco' && !o.parent) {
      // The take-profit parent filled: its stop is cancelled.
      for (const l of o.legs) if (isOpen(l)) this.end(l, 'canceled');
      return;
    }
    // Entry filled: the exits go live. Alpaca shows the take-profit as new and the stop as held (it still watches).
    for (const l of o.legs) {
      l.armed = true;
      l.status = l.leg === 'take_profit' ? 'new' : 'held';
    }
    // One exit filled: the other is cancelled (OCO).
    if (o.parent) for (const sib of o.parent.legs) if (sib !== o && isOpen(sib)) this.end(sib, 'canceled');
  }

  end(o: EmuOrder, status: 'canceled' | 'expired'): void {
    if (!isOpen(o)) return;
    o.status = status;
    if (status === 'canceled') o.canceled_at = this.now();
    else o.expired_at = this.now();
    for (const l of o.legs)
      if (isOpen(l) && (!l.armed || status === 'expired' || o.order_class === 'oco')) this.end(l, 'canceled');
  }

  cancel(id: string): void {
    const o = this.byId.get(id);
    if (!o) throw notFound('order not found');
    if (!isOpen(o)) throw unprocessable(`order is already in "${o.status}" state`);
    this.end(o, 'canceled');
  }

  /** Move the clock's consequences forward: queued orders go live in their session, DAY orders expire. */
  advance(): void {
    const now = this.now();
    for (const o of this.orders) {
      for (const x of [o, ...o.legs]) {
        if (isOpen(x) && x.expires_at !== undefined && now >= x.expires_at) this.end(x, 'expired');
      }
      if (o.status === 'accepted' && this.cal.session(now) !== 'closed') {
        const s = this.cal.session(now);
        if (s === 'regular' || o.extended_hours) o.status = 'new';
      }
    }
  }

  /** Fill what the current quote crosses, for orders that may trade now. */
  match(symbol: string): void {
    const q = this.quote(symbol)!;
    const live = this.orders
      .filter((o) => o.symbol === symbol)
      .flatMap((o) => [o, ...o.legs])
      .filter((o) => this.tradableNow(o));
    for (const o of live) {
      if (!this.tradableNow(o)) continue; // an OCO sibling may have just filled
      const px = o.side === 'buy' ? q.ask : q.bid;
      const stopHit =
        o.stop_price !== undefined && (o.side === 'buy' ? q.last >= o.stop_price : q.last <= o.stop_price);
      if (o.type === 'stop' || o.type === 'stop_limit') {
        if (!stopHit || this.cal.session(this.now()) !== 'regular') continue;
      }
      const limitOk =
        o.limit_price === undefined || (o.side === 'buy' ? px <= o.limit_price : px >= o.limit_price);
      if (limitOk) this.fill(o, undefined, px);
    }
  }
}
