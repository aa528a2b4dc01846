/**
 * How a simulated broker fills resting orders, pure: the orders, one price step and the session are arguments,
 * the fills and cancels are the result. Paper mode runs it on each price step of its price source; a backtest can
 * run it on historical bars. docs/client.md "Paper fills" states the rules in prose:
 *  - a market order fills at the step's open, slippage against you;
 *  - a limit rests until the price crosses it and fills at the limit or better (the open, when the step gaps
 *    through it): never at a price worse than its limit;
 *  - a stop triggers when the price reaches it and then fills like a market order (at the stop, or at the open when
 *    the step gaps through it, slippage against you); a stop-limit becomes a resting limit when triggered;
 *  - bracket legs (take-profit limit and stop) rest only once their entry has filled, from the next step on, and
 *    are one OCO group; in an OCO group the first leg to fill cancels the others. When ONE step crosses both
 *    legs (a bar whose low is under the stop and whose high is over the target), the STOP fills: the order of
 *    prices inside a step is unknown, and assuming the worse outcome keeps paper from flattering a strategy;
 *  - sessions (US equities): the regular session fills everything; pre-market and after-hours only limits marked
 *    extended hours (stops never trade outside the regular session, like Alpaca's); closed fills nothing. A venue
 *    without sessions (crypto spot) always trades;
 *  - a DAY order expires at its `expiresAt` (the regular close, or the after-hours close with extended hours):
 *    a step at or after it cancels it before any price is looked at.
 */

export type RestingType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type SessionKindOrAlways = 'pre' | 'regular' | 'after' | 'closed' | 'always';

export interface RestingOrder {
  id: string;
  side: 'buy' | 'sell';
  type: RestingType;
  amount: number;
  /** Limit price (limit, stop_limit). */
  limit?: number | undefined;
  /** Trigger price (stop, stop_limit). */
  stop?: number | undefined;
  extendedHours: boolean;
  /** A DAY order's expiry instant (market time); undefined: good till cancelled. */
  expiresAt?: number | undefined;
  /** Orders sharing a group are one-cancels-other. */
  oco?: string | undefined;
  /** A bracket leg: rests only once the order with this id has filled. */
  parent?: string | undefined;
  /** held: a bracket leg waiting for its entry; triggered: a stop-limit whose stop was reached. */
  state: 'open' | 'held' | 'triggered';
}

/**
 * One price step: trade prices over a span (a bar), or one price (o = h = l = c); `t` is when it ends. With a
 * quote (bid and ask) a buy meets the ask and a sell the bid instead.
 */
export interface PriceStep {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  bid?: number | undefined;
  ask?: number | undefined;
}

/** The prices one side meets in a step: the quote's side when there is one. */
function sideOf(p: PriceStep, side: 'buy' | 'sell'): PriceStep {
  const q = side === 'buy' ? p.ask : p.bid;
  return q === undefined ? p : { t: p.t, o: q, h: q, l: q, c: q };
}

export interface Fill {
  id: string;
  price: number;
  amount: number;
  t: number;
}

export interface StepResult {
  /** Orders still resting (open, held or triggered), in their new state. */
  resting: RestingOrder[];
  fills: Fill[];
  canceled: { id: string; reason: 'expired' | 'oco' }[];
}

/** May this order trade in this session? */
export function tradesIn(o: RestingOrder, session: SessionKindOrAlways): boolean {
  if (session === 'always' || session === 'regular') return true;
  if (session === 'closed') return false;
  return o.extendedHours && (o.type === 'limit' || (o.type === 'stop_limit' && o.state === 'triggered'));
}

/** The fill price of one order in one step, or undefined when the step does not reach it. `slip` is a fraction. */
export function fillPrice(o: RestingOrder, step: PriceStep, slip: number): number | undefined {
  const p = sideOf(step, o.side);
  const buy = o.side === 'buy';
  const worse = (x: number) => (buy ? x * (1 + slip) : x * (1 - slip));
  const limitFill = (limit: number, from: number) => {
    // Reached when the step trades at or through the limit; filled at the limit or the better opening price.
    if (buy) return p.l <= limit ? Math.min(from, limit) : undefined;
    return p.h >= limit ? Math.max(from, limit) : undefined;
  };
  switch (o.type) {
    case 'market':
      return worse(p.o);
    case 'limit':
      return limitFill(o.limit!, p.o);
    case 'stop':
    case 'stop_limit': {
      if (o.state === 'triggered') return limitFill(o.limit!, p.o);
      const stop = o.stop!;
      const reached = buy ? p.h >= stop : p.l <= stop;
      if (!reached) return undefined;
      // The price at the trigger: the stop, or the open when the step opened beyond it (a gap).
      const at = buy ? Math.max(p.o, stop) : Math.min(p.o, stop);
      if (o.type === 'stop') return worse(at);
      // A stop-limit fills at once only if the trigger price is within its limit; else it rests as a limit.
      return buy ? (at <= o.limit! ? at : undefined) : at >= o.limit! ? at : undefined;
    }
  }
}

function triggeredBy(o: RestingOrder, step: PriceStep): boolean {
  const p = sideOf(step, o.side);
  return (
    o.type === 'stop_limit' && o.state === 'open' && (o.side === 'buy' ? p.h >= o.stop! : p.l <= o.stop!)
  );
}

/** Stops before limits: within one step the order of prices is unknown, so an OCO pair gives the worse outcome. */
const rank = (o: RestingOrder) => (o.type === 'stop' || o.type === 'stop_limit' ? 0 : 1);

/**
 * Apply one price step to the resting orders of one symbol. Pure and deterministic: the same orders and steps
 * give the same fills, whoever runs them.
 */
export function step(
  orders: readonly RestingOrder[],
  p: PriceStep,
  session: SessionKindOrAlways,
  slip = 0,
): StepResult {
  const fills: Fill[] = [];
  const canceled: StepResult['canceled'] = [];
  const gone = new Set<string>();
  const doneGroups = new Set<string>();
  const next = new Map<string, RestingOrder>();
  for (const o of orders) next.set(o.id, o);

  for (const o of orders) {
    if (o.expiresAt !== undefined && p.t >= o.expiresAt) {
      canceled.push({ id: o.id, reason: 'expired' });
      gone.add(o.id);
    }
  }
  const live = [...orders]
    .filter((o) => !gone.has(o.id) && o.state !== 'held')
    .sort((a, b) => rank(a) - rank(b));
  for (const o of live) {
    if (o.oco && doneGroups.has(o.oco)) continue;
    if (!tradesIn(o, session)) continue;
    const price = fillPrice(o, p, slip);
    if (price === undefined) {
      if (triggeredBy(o, p) && (session === 'regular' || session === 'always'))
        next.set(o.id, { ...o, state: 'triggered' });
      continue;
    }
    fills.push({ id: o.id, price, amount: o.amount, t: p.t });
    gone.add(o.id);
    if (o.oco) doneGroups.add(o.oco);
  }
  for (const o of orders) {
    if (gone.has(o.id)) continue;
    if (o.oco && doneGroups.has(o.oco)) {
      canceled.push({ id: o.id, reason: 'oco' });
      gone.add(o.id);
    }
  }
  // A bracket's entry was cancelled or expired: its legs go with it. Filled: they rest from the next step on.
  const filled = new Set(fills.map((f) => f.id));
  for (const o of orders) {
    if (gone.has(o.id) || !o.parent) continue;
    if (filled.has(o.parent)) next.set(o.id, { ...next.get(o.id)!, state: 'open' });
    else if (gone.has(o.parent)) {
      canceled.push({ id: o.id, reason: canceled.find((c) => c.id === o.parent)?.reason ?? 'oco' });
      gone.add(o.id);
    }
  }
  const resting = orders.filter((o) => !gone.has(o.id)).map((o) => next.get(o.id)!);
  return { resting, fills, canceled };
}
