import type { ChangeRow, IntentRow } from '../journal/index.js';
import { fmt } from '../report.js';
import { priorityOf, type NotifyEventKind, type NotifyMessage } from './events.js';

/**
 * Journal change rows -> notifications (pure). An `order` change carries the whole intent row; what happened is
 * the difference from the state last seen for that intent (the caller keeps it): placed (pending -> open), filled
 * in part, filled, refused by the broker. Protective legs (protect, sl, tp) are told only when they fill, with
 * the realised P&L of the round trip, which the caller looks up (realizedOf).
 */

export interface SeenOrder {
  status: string;
  filled: number;
}

const PROTECTIVE_LEGS = new Set(['protect', 'sl', 'tp', 'bracket_sl', 'bracket_tp']);
const isProtective = (i: IntentRow) =>
  PROTECTIVE_LEGS.has(i.leg) || i.type === 'stop_loss' || i.type === 'take_profit';

function m(
  kind: NotifyEventKind,
  at: number,
  title: string,
  body: string,
  fields?: NotifyMessage['fields'],
): NotifyMessage {
  return { kind, priority: priorityOf(kind), title, body, fields, at };
}

const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;

function describe(i: IntentRow): string {
  const price = i.avg_price ?? i.price ?? i.ref_price;
  return `${i.side} ${fmt(i.filled > 0 ? i.filled : i.amount)} ${i.market} @ ${fmt(price)}`;
}

function session(i: IntentRow): string | undefined {
  if (!i.order_params) return undefined;
  try {
    const p = JSON.parse(i.order_params) as { extended_hours?: unknown; extendedHours?: unknown };
    return p.extended_hours === true || p.extendedHours === true ? 'extended hours' : undefined;
  } catch {
    return undefined;
  }
}

export interface ChangeContext {
  /** 'paper' or 'LIVE': on every trade message, so a paper fill is never mistaken for money. */
  mode: string;
  /** The quote currency, for P&L. */
  quote: string;
  realizedOf(market: string, at: number): number | undefined;
}

export function messagesForChange(
  c: ChangeRow,
  prev: SeenOrder | undefined,
  ctx: ChangeContext,
): NotifyMessage[] {
  const tag = `[${ctx.mode}]`;
  if (c.kind === 'kill_switch') {
    const on = c.data['on'] === true;
    const reason = typeof c.data['reason'] === 'string' ? c.data['reason'] : '';
    return [
      m(
        'kill_switch',
        c.at,
        on ? 'kill switch ON: trading paused' : 'kill switch off: trading resumed',
        on ? `Every signal is skipped until \`resume\`. ${reason}`.trim() : 'Signals are decided again.',
      ),
    ];
  }
  if (c.kind === 'incident') {
    const detail =
      typeof c.data['detail'] === 'string'
        ? c.data['detail']
        : typeof c.data['message'] === 'string'
          ? c.data['message']
          : JSON.stringify(c.data);
    const where = c.symbol ? ` (${c.symbol})` : '';
    // The same kind of change records the friend's acknowledgement (incidents --ack): told as such.
    if (typeof c.data['acked_at'] === 'number')
      return [
        m(
          'incident',
          c.at,
          `incident acknowledged${where}`,
          `${detail}: the broker's count is now the journal's.`,
        ),
      ];
    return [
      m(
        'incident',
        c.at,
        `reconciliation incident${where}`,
        `${detail}. Entries and exits in it wait for \`catalyst-client incidents --ack\`.`,
      ),
    ];
  }
  const asks =
    (c.kind === 'decision' && c.data['reason'] === 'deferred:pending_approval') ||
    (c.kind === 'approval' && c.data['state'] === 'pending');
  if (asks) {
    const detail = typeof c.data['detail'] === 'string' ? c.data['detail'] : '';
    return [
      {
        ...m(
          'approval_requested',
          c.at,
          `${tag} approve? ${c.symbol ?? '?'} #${c.seq ?? '?'}`,
          `${detail}. Approve or reject it on the dashboard; nothing is placed without approval.`,
        ),
        approval:
          c.epoch && c.seq !== null && typeof c.data['row_id'] === 'number'
            ? { epoch: c.epoch, seq: c.seq, decisionId: c.data['row_id'] }
            : undefined,
      },
    ];
  }
  if (c.kind === 'order_event') return legFill(c, ctx);
  if (c.kind !== 'order') return [];
  const i = c.data as unknown as IntentRow;
  if (typeof i.client_order_id !== 'string' || typeof i.status !== 'string') return [];
  const was = prev ?? { status: 'pending', filled: 0 };
  const fields = [
    { name: 'signal', value: `${c.symbol ?? i.market} #${i.seq}` },
    { name: 'order', value: i.client_order_id },
  ];
  const out: NotifyMessage[] = [];
  if (i.status === 'rejected' && was.status !== 'rejected') {
    out.push(
      m(
        'broker_refused',
        c.at,
        `${tag} broker refused: ${i.side} ${fmt(i.amount)} ${i.market}`,
        `Reason: ${i.error ?? 'not given'}. A definitive refusal is never resent.`,
        fields,
      ),
    );
    return out;
  }
  if (i.status === 'filled' && was.status !== 'filled') {
    const realized = ctx.realizedOf(i.market, c.at);
    const pnl = realized === undefined ? '' : `realised P&L ${signed(realized)} ${ctx.quote}`;
    if (isProtective(i)) {
      const which =
        i.type === 'take_profit' || i.leg === 'tp' || i.leg === 'bracket_tp'
          ? 'target hit'
          : i.type === 'stop_loss' || i.leg === 'sl' || i.leg === 'bracket_sl'
            ? 'stop hit'
            : 'protective order filled';
      out.push(
        m(
          'protective_filled',
          c.at,
          `${tag} ${which}: ${describe(i)}`,
          pnl || 'The position is closed.',
          fields,
        ),
      );
    } else {
      out.push(m('filled', c.at, `${tag} filled: ${describe(i)}`, pnl || `${i.leg} order filled.`, fields));
    }
    return out;
  }
  if (isProtective(i)) return out;
  if ((i.status === 'open' || i.status === 'filled') && was.status === 'pending') {
    const s = session(i);
    out.push(
      m(
        'trade_placed',
        c.at,
        `${tag} placed: ${i.side} ${fmt(i.amount)} ${i.market} ${i.type}${i.price !== null ? ` @ ${fmt(i.price)}` : ` (ref ${fmt(i.ref_price)})`}`,
        `${i.leg} order sent${s ? ` (${s})` : ''}.`,
        fields,
      ),
    );
  }
  if (i.status === 'open' && i.filled > was.filled && i.filled < i.amount)
    out.push(
      m(
        'partially_filled',
        c.at,
        `${tag} partly filled: ${fmt(i.filled)} of ${fmt(i.amount)} ${i.market}`,
        `${i.side} @ ${fmt(i.avg_price ?? i.price ?? i.ref_price)} so far.`,
        fields,
      ),
    );
  return out;
}

/**
 * A broker-made leg (a live bracket's or OCO's stop or target: its own order ids, no intent of its own) that
 * filled: the broker's event is the only record of it, so it is told from the `order_event` change.
 */
function legFill(c: ChangeRow, ctx: ChangeContext): NotifyMessage[] {
  const e = c.data;
  const own = e['clientOrderId'];
  const intent = e['intent'];
  if (e['event'] !== 'fill' || typeof intent !== 'string' || own === intent) return [];
  const qty = typeof e['filled'] === 'number' ? e['filled'] : undefined;
  const price = typeof e['average'] === 'number' ? e['average'] : e['price'];
  const market = typeof e['market'] === 'string' ? e['market'] : (c.symbol ?? '?');
  const realized = ctx.realizedOf(market, c.at);
  return [
    m(
      'protective_filled',
      c.at,
      `[${ctx.mode}] protective leg filled: ${String(e['side'])} ${qty === undefined ? '' : `${fmt(qty)} `}${market}${typeof price === 'number' ? ` @ ${fmt(price)}` : ''}`,
      realized === undefined
        ? 'The broker filled a leg of this order.'
        : `realised P&L ${signed(realized)} ${ctx.quote}`,
      [
        { name: 'signal', value: `${c.symbol ?? market}${c.seq !== null ? ` #${c.seq}` : ''}` },
        { name: 'order', value: intent },
      ],
    ),
  ];
}
