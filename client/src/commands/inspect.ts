import { exposure, limitDay } from '../decide/index.js';
import { parseSince, parseVerdict } from '../cli-args.js';
import { Journal, type IncidentRow, type IntentRow, type RedecisionRow } from '../journal/index.js';
import { UsageError } from '../errors.js';
import type { Context } from '../context.js';
import { fmt, orderState } from '../report.js';
import { ACCEPT_EPOCH, clientCommand, renderRecovery } from '../recovery.js';
import { notifyStatus } from '../notify/status.js';

/** status / history / pause / resume: read or flip the journal; no network, no ccxt. */

function openJournal(ctx: Context): Journal {
  return Journal.openExisting(ctx.journalPath, ctx.configArg ?? ctx.configPath);
}

const iso = (ms: number) => new Date(ms).toISOString();

export function statusCommand(ctx: Context, opts: { json?: boolean }): string {
  const j = openJournal(ctx);
  try {
    const now = Date.now();
    const cur = j.cursor();
    const positions = j.positions();
    const day = limitDay(ctx.config.exchange.venue, now);
    const state = j.decisionState(now, { equity: 0, freeQuote: 0 }, day.start);
    const r = ctx.config.risk;
    const data = {
      mode: ctx.config.mode,
      cursor: cur,
      halted: j.halted() ?? null,
      ...notifyStatus(j),
      kill_switch: j.killSwitch(),
      pinned_key: j.pinnedKey()?.fingerprint ?? null,
      positions,
      today: {
        day: day.day,
        // The day the daily limits count: a New York trading day on us_equity, else the UTC day.
        zone: ctx.config.exchange.venue === 'us_equity' ? 'America/New_York' : 'UTC',
        realized_pnl: state.dailyPnl,
        max_daily_loss: r.max_daily_loss_quote,
        orders: state.ordersToday,
        max_orders: r.max_orders_per_day,
        open_positions: positions.length,
        max_open_positions: r.max_open_positions,
        exposure: exposure(positions),
        max_exposure: r.max_total_exposure_quote,
      },
      paper_balances: ctx.config.mode === 'paper' ? j.paperBalances() : undefined,
      open_intents: j
        .openIntents()
        .map((i) => ({ id: i.client_order_id, seq: i.seq, market: i.market, status: i.status })),
      gaps: j.gaps(5),
      incidents: j.openIncidents().map(incidentJson),
      adopted: j.adoptions().map((a) => ({ ...a, at: iso(a.at) })),
      last_decisions: j.decisions({ limit: 10 }).map((d) => ({
        seq: d.seq,
        symbol: d.symbol,
        verdict: d.verdict,
        reason: d.reason,
        at: iso(d.decided_at),
      })),
    };
    if (opts.json) return JSON.stringify(data, null, 2);
    const t = data.today;
    return [
      `mode: ${data.mode}${data.halted ? `   HALTED: ${data.halted}` : ''}${data.kill_switch.on ? `   PAUSED: ${data.kill_switch.reason}` : ''}`,
      ...(data.halted ? [`  ${renderRecovery(ctx.configArg ?? ctx.configPath, ACCEPT_EPOCH).slice(2)}`] : []),
      ...(data.last_halt
        ? [
            `STOPPED ${data.last_halt.at} (exit ${data.last_halt.exit}): ${data.last_halt.message}`,
            ...(data.last_halt.recovery ? [`  ${data.last_halt.recovery}`] : []),
          ]
        : []),
      ...(data.witness_policy && !data.witness_policy.ok
        ? [
            `WITNESS QUORUM MISSING since ${new Date(data.witness_policy.sinceMs ?? 0).toISOString()}: checkpoint ${data.witness_policy.size} cosigned by ${data.witness_policy.cosigned} of ${data.witness_policy.need} required witnesses (log.witness_policy; trading goes on)`,
          ]
        : []),
      `cursor: epoch ${cur.epoch ?? '-'}  last seq ${cur.seq}`,
      `server key: ${data.pinned_key ?? 'not pinned'}`,
      `today (${t.day} ${t.zone === 'UTC' ? 'UTC' : 'New York'}): P&L ${t.realized_pnl.toFixed(2)} (stop at -${t.max_daily_loss})  orders ${t.orders}/${t.max_orders}  positions ${t.open_positions}/${t.max_open_positions}  exposure ${t.exposure.toFixed(2)}/${t.max_exposure}`,
      'positions:',
      ...(positions.length
        ? positions.map(
            (p) =>
              `  ${p.market}  ${p.amount}  cost ${p.cost.toFixed(2)}${adoptedText(data.adopted, p.market)}`,
          )
        : ['  (none)']),
      ...(data.paper_balances
        ? [
            'paper balances: ' +
              Object.entries(data.paper_balances)
                .map(([a, v]) => `${a} ${v.toFixed(8).replace(/\.?0+$/, '')}`)
                .join(', '),
          ]
        : []),
      ...(data.open_intents.length
        ? [
            'unresolved orders:',
            ...data.open_intents.map((i) => `  ${i.id} seq ${i.seq} ${i.market} ${i.status}`),
          ]
        : []),
      ...(data.incidents.length
        ? [
            'POSITION INCIDENTS (not traded until acknowledged: catalyst-client incidents --ack ID):',
            ...data.incidents.map((i) => `  #${i.id} ${i.symbol}  ${i.detail}`),
          ]
        : []),
      ...(data.gaps.length
        ? ['accepted gaps:', ...data.gaps.map((g) => `  ${g.from_seq}..${g.to_seq} ${g.reason}`)]
        : []),
      ...(data.notifications.length
        ? [
            'notifications:',
            ...data.notifications.map(
              (n) =>
                `  ${n.target}  sent ${n.sent}  failed ${n.failed}${n.dropped ? `  dropped ${n.dropped}` : ''}${n.queued ? `  queued ${n.queued}` : ''}${n.last_error ? `  last error ${n.last_error_at ?? ''}: ${n.last_error}` : ''}`,
            ),
          ]
        : []),
      'last decisions:',
      ...(data.last_decisions.length
        ? data.last_decisions.map(
            (d) => `  ${d.at}  #${d.seq}  ${d.symbol.padEnd(8)} ${d.verdict.padEnd(6)} ${d.reason}`,
          )
        : ['  (none)']),
    ].join('\n');
  } finally {
    j.close();
  }
}

export function historyCommand(
  ctx: Context,
  opts: {
    verdict?: string;
    reason?: string;
    symbol?: string;
    since?: string;
    limit?: number | string;
    json?: boolean;
  },
): string {
  const verdict = opts.verdict === undefined ? undefined : parseVerdict(opts.verdict);
  const j = openJournal(ctx);
  try {
    const rows = j.decisions({
      verdict,
      reason: opts.reason,
      symbol: opts.symbol,
      sinceMs: opts.since ? parseSince(opts.since) : undefined,
      limit: opts.limit === undefined ? 50 : Number(opts.limit),
    });
    if (opts.json) {
      return JSON.stringify(
        rows.map((r) => ({
          ...r,
          legs: JSON.parse(r.legs),
          signal: JSON.parse(r.signal),
          orders: j.intentsFor(r.epoch, r.seq).map((i) => ({ ...i, role: legRole(i.leg) })),
          redecision: redecisionJson(j.redecision(r.epoch, r.seq)),
        })),
        null,
        2,
      );
    }
    // Positions taken over at start are not decisions: listed after them, unless a decision filter is given.
    const adopted =
      opts.verdict === undefined && opts.reason === undefined
        ? j
            .adoptions()
            .filter((a) => opts.symbol === undefined || a.symbol === opts.symbol.toUpperCase())
            .map(
              (a) =>
                `${iso(a.at)}  adopted  ${a.symbol.padEnd(8)} ${fmt(a.qty)} at ${fmt(a.avg_price)} (held at the broker at start; equities.outside_positions: adopt)`,
            )
        : [];
    if (!rows.length) return adopted.length ? adopted.join('\n') : '(no decisions)';
    return [
      ...rows.map((r) => {
        // Entries first, then what protects and closes them (bracket legs, the open's OCO, exits).
        const orders = j
          .intentsFor(r.epoch, r.seq)
          .sort((a, b) => LEG_ORDER.indexOf(roleKey(a.leg)) - LEG_ORDER.indexOf(roleKey(b.leg)))
          .map(
            (i) =>
              `\n      ${legRole(i.leg)}: order ${i.client_order_id} ${i.side} ${fmt(i.amount)} ${i.market}${levels(i)} ${orderState(i)}${i.avg_price ? ` @ ${fmt(i.avg_price)}` : ''}`,
          );
        const again = j.redecision(r.epoch, r.seq);
        const second = again
          ? `\n      decided again ${iso(again.decided_at)}: ${again.verdict} ${again.reason}${again.detail ? '  - ' + again.detail : ''}`
          : '';
        return `${iso(r.decided_at)}  #${r.seq}  ${r.symbol.padEnd(8)} ${r.verdict.padEnd(6)} ${r.reason}${r.detail ? '  - ' + r.detail : ''}${second}${orders.join('')}`;
      }),
      ...adopted,
    ].join('\n');
  } finally {
    j.close();
  }
}

/** What each order of a signal is, in the words `history` prints. */
const ROLES: Record<string, string> = {
  entry: 'entry',
  exit: 'exit',
  protect: 'protection at the open',
  bracket_tp: 'bracket take-profit',
  bracket_sl: 'bracket stop',
  tp: 'take-profit',
  sl: 'stop-loss',
};
const LEG_ORDER = ['entry', 'bracket_tp', 'bracket_sl', 'protect', 'tp', 'sl', 'exit', 'other'];
const roleKey = (leg: string) => (leg in ROLES ? leg : 'other');
export const legRole = (leg: string): string => ROLES[leg] ?? leg;

/** The levels a resting order waits for: a stop, a take-profit limit, or both (an OCO pair). */
function levels(i: IntentRow): string {
  if (i.leg === 'protect' && i.stop_loss !== null && i.take_profit !== null)
    return ` take-profit ${fmt(i.take_profit)} / stop ${fmt(i.stop_loss)}`;
  if (i.type === 'stop_loss' && i.stop_loss !== null) return ` stop ${fmt(i.stop_loss)}`;
  if (i.type === 'take_profit' && i.take_profit !== null) return ` limit ${fmt(i.take_profit)}`;
  if (i.type === 'limit' && i.price !== null) return ` limit ${fmt(i.price)}`;
  return '';
}

function redecisionJson(r: RedecisionRow | undefined) {
  return r ? { ...r, legs: JSON.parse(r.legs) as unknown } : null;
}

const incidentJson = (i: IncidentRow) => ({
  id: i.id,
  symbol: i.symbol,
  kind: i.kind,
  detail: i.detail,
  journal_qty: i.journal_qty,
  broker_qty: i.broker_qty,
  created_at: i.created_at,
  acked_at: i.acked_at,
});

/**
 * `incidents`: position differences with the broker that the journal could not explain, newest first; `ack ID`
 * accepts one (the broker's count becomes the journal's) so its symbol trades again.
 */
export function incidentsCommand(ctx: Context, opts: { json?: boolean; ack?: string | undefined }): string {
  const j = openJournal(ctx);
  try {
    if (opts.ack !== undefined) {
      const id = Number(opts.ack);
      if (!Number.isInteger(id) || id <= 0)
        throw new UsageError(`incident id must be a positive whole number, got ${opts.ack}`);
      const r = j.ackIncident(id, Date.now());
      if (!r) throw new UsageError(`no incident #${id} (catalyst-client incidents lists them)`);
      const after =
        r.row.kind === 'broker_has_less'
          ? `this client's ${r.row.symbol} position is now the broker's ${r.row.broker_qty}`
          : `the extra ${r.row.broker_qty - r.row.journal_qty} ${r.row.symbol} count as held outside this client`;
      return r.acked
        ? `incident #${id} acknowledged: ${after}; ${r.row.symbol} trades again`
        : `incident #${id} was already acknowledged (${iso(r.row.acked_at!)})`;
    }
    const rows = j.incidents(50);
    if (opts.json) return JSON.stringify(rows.map(incidentJson), null, 2);
    if (!rows.length) return 'no position incidents';
    return rows
      .map(
        (i) =>
          `#${i.id}  ${iso(i.created_at)}  ${i.symbol.padEnd(8)} ${i.acked_at === null ? 'OPEN ' : 'acked'}  ${i.detail}`,
      )
      .join('\n');
  } finally {
    j.close();
  }
}

export function pauseCommand(ctx: Context, reason: string | undefined): string {
  const j = openJournal(ctx);
  try {
    j.setKillSwitch(`${reason ?? 'paused by operator'} (${new Date().toISOString()})`);
    return 'paused: a running client skips every signal from its next decision on (journaled as skipped:kill_switch)';
  } finally {
    j.close();
  }
}

export function resumeCommand(ctx: Context, opts: { acceptNewEpoch?: boolean }): string {
  const cfg = ctx.configArg ?? ctx.configPath;
  const j = openJournal(ctx);
  try {
    const halted = j.halted();
    if (opts.acceptNewEpoch) {
      // Accepting an epoch is not a decision to trade: under a supervisor the next `run` starts at once, so the
      // kill switch goes (or stays) on and only a plain `resume` turns it off.
      if (!halted) {
        const ks = j.killSwitch();
        return `not halted: no new epoch to accept; kill switch ${ks.on ? `still ON (${ks.reason})` : 'off'}, unchanged`;
      }
      j.setHalted(undefined);
      j.resetCursor();
      const ks = j.killSwitch();
      if (!ks.on) j.setKillSwitch(`new server epoch accepted (${new Date().toISOString()})`);
      return [
        'halt cleared; the cursor was reset: the next run starts at the new epoch (server.start_from)',
        `trading stays paused (kill switch ON); to trade again, run: ${clientCommand(cfg, 'resume')}`,
      ].join('\n');
    }
    j.setKillSwitch(undefined);
    const out = ['kill switch off'];
    if (halted) out.push(`still HALTED: ${halted}\n  ${renderRecovery(cfg, ACCEPT_EPOCH).slice(2)}`);
    return out.join('\n');
  } finally {
    j.close();
  }
}

/** " (adopted 10 at 150.00)": shares of a position this client took over from the broker at start. */
function adoptedText(
  adopted: readonly { symbol: string; qty: number; avg_price: number }[],
  symbol: string,
): string {
  const a = adopted.filter((x) => x.symbol === symbol);
  return a.length ? ` (adopted ${a.map((x) => `${x.qty} at ${x.avg_price.toFixed(2)}`).join(', ')})` : '';
}
