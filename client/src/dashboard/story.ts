import { EPS } from '../ledger-math.js';
import type { FillRow, Journal } from '../journal/index.js';
import type { Story } from './api.js';
import { feedRow, orderRow } from './feed.js';

/**
 * One signal's whole story for the page's expanded row: its decision (and the second one at the open), every
 * order leg (entry, stop, target, protection, exit) with fills and fees, and what this signal made or lost.
 * P&L is signalPnl's: the lot this signal bought, released by whatever sold it.
 */

type Fill = Pick<
  FillRow,
  'epoch' | 'seq' | 'market' | 'side' | 'filled' | 'avg_price' | 'fee_quote' | 'fee_base'
>;

/**
 * What the signal (epoch, seq) made or lost in `market`, from the market's real fills in order: each buy is a
 * lot of the signal that placed it; a sell (its own exit, a stop, an exit signal, a later short) releases every
 * lot in proportion, as attribution.ts does for the P&L buckets, so a signal sold by another one still shows
 * its result. A signal that only sold has no P&L of its own.
 */
export function signalPnl(
  fills: readonly Fill[],
  epoch: string,
  seq: number,
  market: string,
  lastPrice: number | undefined,
): Story['pnl'] {
  const lots = new Map<
    string,
    { amount: number; cost: number; realized: number; sold: boolean; fees: number }
  >();
  const mine = `${epoch}:${seq}`;
  for (const f of fills) {
    if (f.market !== market || f.filled <= 0 || f.avg_price === null) continue;
    const fee = f.fee_quote + f.fee_base * f.avg_price;
    if (f.side === 'buy') {
      const key = `${f.epoch}:${f.seq}`;
      const lot = lots.get(key) ?? { amount: 0, cost: 0, realized: 0, sold: false, fees: 0 };
      lot.amount += f.filled - f.fee_base;
      lot.cost += f.filled * f.avg_price + f.fee_quote;
      lot.fees += fee;
      lots.set(key, lot);
      continue;
    }
    const held = [...lots.values()].reduce((a, l) => a + l.amount, 0);
    if (held <= EPS) continue;
    for (const lot of lots.values()) {
      if (lot.amount <= EPS) continue;
      const part = lot.amount / held;
      const sold = Math.min(lot.amount, f.filled * part);
      const basis = lot.cost * Math.min(1, sold / lot.amount);
      lot.realized += f.filled * f.avg_price * part - f.fee_quote * part - basis;
      lot.fees += fee * part;
      lot.amount -= sold;
      lot.cost -= basis;
      lot.sold = true;
    }
  }
  const lot = lots.get(mine);
  if (!lot) return { realized: null, unrealized: null, fees: 0 };
  return {
    realized: lot.sold ? lot.realized : null,
    unrealized: lot.amount > EPS && lastPrice !== undefined ? lot.amount * lastPrice - lot.cost : null,
    fees: lot.fees,
  };
}

export function buildStory(journal: Journal, epoch: string, seq: number): Story | undefined {
  const q = journal.dashboard();
  const first = q.decisionAt(epoch, seq);
  if (!first) return undefined;
  const intents = journal.intentsFor(epoch, seq);
  const decisions = [feedRow(first, intents)];
  const again = journal.redecision(epoch, seq);
  if (again)
    decisions.push({
      ...feedRow({ ...first, ...again, detail: again.detail }, intents),
      key: `redecision:${epoch}:${seq}`,
      redecision: true,
    });
  const market = intents[0]?.market;
  const last = market ? q.lastPrices()[market]?.price : undefined;
  return {
    epoch,
    seq,
    headline: decisions[0]!.headline,
    decisions,
    orders: intents.map(orderRow),
    pnl: market
      ? signalPnl(q.fills(), epoch, seq, market, last)
      : { realized: null, unrealized: null, fees: 0 },
  };
}
