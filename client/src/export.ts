import type { DecisionRow, FillExportRow, IntentRow, Journal } from './journal/index.js';
import { decisionText } from './report.js';

/**
 * `catalyst-client export`: the journal's decisions, orders and fills as CSV (RFC 4180: comma, CRLF, fields
 * quoted when they hold a comma, a quote or a line break). Text that reaches a spreadsheet from the signal
 * server (headlines, details, broker errors) could be a formula (`=HYPERLINK(...)`): a text cell starting with
 * = + - @ or a tab / CR gets a leading apostrophe, so it is shown, never evaluated. Numbers are written as
 * they are; times as ISO 8601 UTC.
 */

export const EXPORT_KINDS = ['decisions', 'orders', 'fills'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

type Cell = string | number | null | undefined;

export function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (cells: readonly Cell[]): string => `${cells.map(csvCell).join(',')}\r\n`;

const iso = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

function signalOf(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
const s = (v: unknown): Cell => (typeof v === 'string' || typeof v === 'number' ? v : null);

export const HEADERS: Record<ExportKind, readonly string[]> = {
  decisions: [
    'decided_at',
    'received_at',
    'epoch',
    'seq',
    'symbol',
    'catalyst',
    'action',
    'direction',
    'confidence',
    'price',
    'verdict',
    'reason',
    'detail',
    'text',
    'headline',
  ],
  orders: [
    'created_at',
    'updated_at',
    'client_order_id',
    'epoch',
    'seq',
    'leg',
    'market',
    'side',
    'type',
    'amount',
    'price',
    'ref_price',
    'stop_loss',
    'take_profit',
    'status',
    'filled',
    'avg_price',
    'fee_quote',
    'fee_base',
    'exchange_order_id',
    'error',
  ],
  fills: [
    'at',
    'execution_id',
    'n',
    'order_id',
    'client_order_id',
    'epoch',
    'seq',
    'symbol',
    'catalyst',
    'action',
    'leg',
    'market',
    'side',
    'qty',
    'price',
    'value',
    'fee_quote',
    'fee_base',
    'cum_filled',
  ],
};

export function decisionCells(d: DecisionRow, intents: readonly IntentRow[]): Cell[] {
  const sig = signalOf(d.signal);
  return [
    iso(d.decided_at),
    iso(d.received_at),
    d.epoch,
    d.seq,
    d.symbol,
    s(sig['catalyst']),
    s(sig['action']),
    s(sig['direction']),
    s(sig['confidence']),
    s(sig['price']),
    d.verdict,
    d.reason,
    d.detail,
    // The words `run` printed for it (report.ts), orders with the state they have now.
    decisionText(d, intents),
    s(sig['headline']),
  ];
}

export function orderCells(i: IntentRow): Cell[] {
  return [
    iso(i.created_at),
    iso(i.updated_at),
    i.client_order_id,
    i.epoch,
    i.seq,
    i.leg,
    i.market,
    i.side,
    i.type,
    i.amount,
    i.price,
    i.ref_price,
    i.stop_loss,
    i.take_profit,
    i.status,
    i.filled,
    i.avg_price,
    i.fee_quote,
    i.fee_base,
    i.exchange_order_id,
    i.error,
  ];
}

/**
 * One row per execution: what the order's fill newly added (quantity, value, the price it was done at, fees
 * newly charged), with the broker's execution and order ids when it named them, and the signal it belongs to.
 */
export function fillCells(f: FillExportRow): Cell[] {
  const st = f.step;
  return [
    iso(st.at),
    f.execution_id,
    f.n,
    f.order_id,
    f.order_key,
    f.epoch,
    f.seq,
    f.symbol,
    f.catalyst,
    f.action,
    f.leg,
    f.market,
    f.side,
    round9(st.amount),
    round9(st.value / st.amount),
    round9(st.value),
    round9(st.feeQuote),
    round9(st.feeBase),
    f.cum,
  ];
}

/** Differences of cumulative figures carry binary noise (0.30000000000000004): nine decimals are exact enough. */
const round9 = (v: number) => Math.round(v * 1e9) / 1e9;

/**
 * The CSV of one kind, line by line (header first), oldest row first from `since` (ms): what `catalyst-client
 * export` prints and the dashboard's download sends, from this one generator so the two never differ.
 */
export function* exportLines(
  j: Pick<Journal, 'exportQueries' | 'intentsFor'>,
  kind: ExportKind,
  since: number,
): Generator<string> {
  const q = j.exportQueries();
  yield csvLine(HEADERS[kind]);
  if (kind === 'decisions')
    for (const d of q.decisions(since)) yield csvLine(decisionCells(d, j.intentsFor(d.epoch, d.seq)));
  else if (kind === 'orders') for (const i of q.orders(since)) yield csvLine(orderCells(i));
  else for (const f of q.fills(since)) yield csvLine(fillCells(f));
}
