import { terminalText, type Signal } from '@catalyst-signal/shared';
import { reasonLabel, type OrderParams } from './decide/index.js';
import type { IntentRow } from './journal/index.js';
import { isProtectiveLeg, protectionText } from './leg-text.js';
import type { Outcome } from './pipeline.js';

/**
 * One readable line per signal for a person watching `run` (stdout); the JSON log keeps every detail.
 *   #41  MRNA  fda long 0.91      TRADED   buy 0.6067 MRNA/USDT @ 41.2 = 25.00 USDT  filled (paper)
 *   #42  TSLA  analyst short 0.55 skipped  low confidence: 0.55 < 0.6
 *   #43  KLTO  offering avoid 0.71 skipped  action avoid: not an entry (avoid windows come in a later release)
 * US equity orders also say how they go out (equityOrderKind):
 *   #44  TLMD  fda long 0.88       TRADED   buy 2 TLMD limit 7.97 ext-hours DAY, protect at open @ 7.97 = 15.94 USD  filled (paper)
 */
export function formatOutcome(signal: Signal, o: Outcome, paper: boolean, quote?: string): string {
  return terminalText(outcomeLine(signal, o, paper, quote));
}

function outcomeLine(signal: Signal, o: Outcome, paper: boolean, quote?: string): string {
  // What the signal asks for: the side of an entry (v1 and v2 alike), else its action (info, avoid, exit).
  const asks = signal.action === undefined || signal.action === 'enter' ? signal.direction : signal.action;
  const head = `#${String(signal.seq).padEnd(5)} ${signal.symbol.padEnd(6)} ${`${signal.catalyst} ${asks} ${signal.confidence.toFixed(2)}`.padEnd(24)}`;
  const d = o.decision;
  const what = decisionText(d, o.intents, quote);
  if (d.verdict !== 'trade') return `${head} ${d.verdict === 'reject' ? 'REJECTED' : 'skipped '} ${what}`;
  return `${head} TRADED   ${what}${paper ? ' (paper)' : ''}`;
}

type OrderLike = Pick<
  IntentRow,
  | 'side'
  | 'amount'
  | 'market'
  | 'type'
  | 'price'
  | 'ref_price'
  | 'avg_price'
  | 'filled'
  | 'status'
  | 'error'
  | 'leg'
  | 'stop_loss'
  | 'take_profit'
> & { order_params?: string | null | undefined };

/**
 * What `run` prints after the verdict, also the dashboard's row text: the specific reason of a skip
 * ("confidence: 0.55 < 0.6"), or the orders of a trade ("buy 10 ABCD @ 2.5 = 25.00 USD  filled").
 * `withState: false` leaves the orders' state out (the dashboard shows it live beside the text).
 */
export function decisionText(
  d: { verdict: string; reason: string; detail?: string | null | undefined },
  intents: readonly OrderLike[],
  quote?: string,
  withState = true,
): string {
  if (d.verdict !== 'trade') return `${reasonLabel(d.reason)}${d.detail ? `: ${d.detail}` : ''}`;
  // Protective legs say what they are (their stop / target), not "sell ... @ the entry's price".
  const orders = intents.filter((i) => !isProtectiveLeg(i.leg)).map((i) => orderText(i, quote, withState));
  return [...orders, ...protectionText(intents, withState)].join('; ');
}

function orderText(i: OrderLike, quote: string | undefined, withState: boolean): string {
  const price = i.avg_price ?? i.price ?? i.ref_price;
  const value = (i.filled || i.amount) * price;
  const kind = i.order_params ? ` ${equityOrderKind({ ...i, order_params: i.order_params })}` : '';
  const text = `${i.side} ${fmt(i.amount)} ${i.market}${kind} @ ${fmt(price)} = ${value.toFixed(2)} ${i.market.split('/')[1] ?? quote ?? ''}`;
  return withState ? `${text}  ${orderState(i)}` : text.trimEnd();
}

/**
 * How a US equity order goes out, in words: its type and limit, the session (ext-hours), the time in force and a
 * bracket's legs, e.g. "limit 7.97 ext-hours DAY, protect at open" or "market bracket tp 8.85 sl 7.5 DAY".
 */
export function equityOrderKind(i: Pick<IntentRow, 'type' | 'price' | 'order_params'>): string {
  let p: Partial<OrderParams>;
  try {
    p = JSON.parse(i.order_params ?? '{}') as Partial<OrderParams>;
  } catch {
    return i.type;
  }
  const words = [i.type === 'limit' && i.price !== null ? `limit ${fmt(i.price)}` : i.type];
  if (p.orderClass === 'bracket')
    words.push(`bracket tp ${fmt(p.takeProfit ?? NaN)} sl ${fmt(p.stopLoss ?? NaN)}`);
  if (p.extendedHours) words.push('ext-hours');
  if (p.timeInForce) words.push(p.timeInForce.toUpperCase());
  const extra = [
    p.protectAtOpen ? (p.extendedHours ? 'protect at open' : 'protect after fill') : undefined,
    p.cancelProtectiveFirst ? 'after cancelling its protective orders' : undefined,
  ].filter(Boolean);
  return `${words.join(' ')}${extra.length ? `, ${extra.join(', ')}` : ''}`;
}

/**
 * An order's state in words, shared by `run` and `history`: "filled", "open, 0.3 of 0.6 filled",
 * "rejected (insufficient balance)". The amount filled is only spelled out when it is partial.
 */
export function orderState(i: Pick<IntentRow, 'status' | 'amount' | 'filled' | 'error'>): string {
  const partial = i.filled > 0 && i.filled < i.amount ? `, ${fmt(i.filled)} of ${fmt(i.amount)} filled` : '';
  return `${i.status}${partial}${i.error ? ` (${i.error})` : ''}`;
}

export function fmt(n: number): string {
  return Number(n.toPrecision(6)).toString();
}
