import { Component } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { FeedRow, OrderRow, PnlBucket, PositionView, Story } from '../../src/dashboard/api.js';
import { protectionText } from '../../src/leg-text.js';
import { fetchStory } from './api.js';
import { amount, money, signed, time } from './format.js';

/**
 * The page's lists, as cards (one per row) so a phone shows every field without scrolling sideways. Rows carry
 * data-* attributes (key, seq, reason) that the browser test reads.
 */

const VERDICT: Record<string, string> = { trade: 'TRADED', skip: 'skipped', reject: 'REJECTED' };

/** The signal feed: actions first; `info` skips folded behind a toggle with their count. */
export function Feed({ rows, token, orders }: { rows: FeedRow[]; token: string; orders: OrderRow[] }) {
  const [showInfo, setShowInfo] = useState(false);
  const [open, setOpen] = useState<string>();
  if (!rows.length)
    return <p class="empty">No decisions yet: signals appear here as the client decides them.</p>;
  const infos = rows.filter((r) => r.info).length;
  const shown = showInfo ? rows : rows.filter((r) => !r.info);
  return (
    <div id="feed">
      {infos > 0 && (
        <button
          type="button"
          class="fold"
          id="info-toggle"
          data-count={infos}
          aria-pressed={showInfo}
          onClick={() => setShowInfo(!showInfo)}
        >
          {showInfo
            ? `hide ${infos} info signal${infos === 1 ? '' : 's'}`
            : `${infos} info signal${infos === 1 ? '' : 's'} folded: show`}
        </button>
      )}
      {shown.map((r) => (
        <FeedCard
          key={r.key}
          row={r}
          token={token}
          // The entry order's live state (the row's text is what `run` printed when it decided).
          states={orders
            .filter((o) => o.epoch === r.epoch && o.seq === r.seq && o.leg === 'entry')
            .map((o) => o.status)
            .join(' ')}
          // Its protective legs by their levels, with their live state ("bracket stop 3.01 / target 3.61 (resting)").
          legs={protectionText(orders.filter((o) => o.epoch === r.epoch && o.seq === r.seq)).join('; ')}
          open={open === r.key}
          onToggle={() => setOpen((k) => (k === r.key ? undefined : r.key))}
        />
      ))}
    </div>
  );
}

interface CardProps {
  row: FeedRow;
  token: string;
  states: string;
  legs: string;
  open: boolean;
  onToggle: () => void;
}

/**
 * One feed card. A new decision re-renders the list: cards whose row, order state and open flag did not change
 * are skipped, so the cost of a new row does not grow with the rows already shown (the latency benchmark).
 */
class FeedCard extends Component<CardProps> {
  override shouldComponentUpdate(next: CardProps): boolean {
    const p = this.props;
    return (
      next.row !== p.row ||
      next.states !== p.states ||
      next.legs !== p.legs ||
      next.open !== p.open ||
      next.token !== p.token
    );
  }
  override render() {
    return <FeedCardView {...this.props} />;
  }
}

function FeedCardView(p: CardProps) {
  const r = p.row;
  // An adoption is no signal: nothing to expand, no orders of its own.
  if (r.kind === 'adoption')
    return (
      <article
        class="feed-row v-adopted"
        data-key={r.key}
        data-kind="adoption"
        data-decided-at={r.decided_at}
      >
        <div class="row-head">
          <span class="row-top">
            <span class="muted">{time(r.decided_at)}</span>
            <b class="sym">{r.symbol}</b>
            <span class="verdict v-adopted">adopted</span>
          </span>
          <span class="why" title={r.reason_text}>
            {r.text}
          </span>
        </div>
      </article>
    );
  const states = p.states ? p.states.split(' ') : [];
  return (
    <article
      class={`feed-row v-${r.verdict}${r.info ? ' info' : ''}`}
      data-key={r.key}
      data-seq={r.seq}
      data-reason={r.reason}
      data-decided-at={r.decided_at}
    >
      <button type="button" class="row-head" aria-expanded={p.open} onClick={p.onToggle}>
        <span class="row-top">
          <span class="muted">
            {time(r.decided_at)} · #{r.seq}
          </span>
          <b class="sym">{r.symbol}</b>
          <span class="muted">
            {r.catalyst ?? ''} {r.direction ?? r.action ?? ''}
            {r.price !== null ? ` @ ${money(r.price)}` : ''}
          </span>
          <span class={`verdict v-${r.verdict}`}>
            {r.redecision ? `${VERDICT[r.verdict] ?? r.verdict} at open` : (VERDICT[r.verdict] ?? r.verdict)}
          </span>
          {states.map((s, i) => (
            <span key={i} class={`status s-${s}`}>
              {s}
            </span>
          ))}
        </span>
        {r.headline && <span class="headline">{r.headline}</span>}
        <span class="why" title={`${r.reason}: ${r.reason_text}`}>
          {r.text}
        </span>
        {p.legs && (
          <span class="why legs" data-legs={p.legs}>
            {p.legs}
          </span>
        )}
      </button>
      {p.open && <StoryView token={p.token} epoch={r.epoch} seq={r.seq} />}
    </article>
  );
}

function StoryView({ token, epoch, seq }: { token: string; epoch: string; seq: number }) {
  const [story, setStory] = useState<Story>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let current = true;
    fetchStory(token, epoch, seq).then(
      (s) => current && setStory(s),
      (e: Error) => current && setError(e.message),
    );
    return () => {
      current = false;
    };
  }, [token, epoch, seq]);
  if (error) return <div class="story down">{error}</div>;
  if (!story) return <div class="story muted">Loading…</div>;
  return (
    <div class="story" data-story={`${epoch}:${seq}`}>
      <h3>Decisions</h3>
      <ul>
        {story.decisions.map((d) => (
          <li key={d.key}>
            {time(d.decided_at)} {d.redecision ? 'at the open: ' : ''}
            <b>{VERDICT[d.verdict] ?? d.verdict}</b> <code>{d.reason}</code> {d.text}
          </li>
        ))}
      </ul>
      <h3>Orders</h3>
      {protectionText(story.orders).map((t) => (
        <p key={t} class="legs">
          {t}
        </p>
      ))}
      {story.orders.length ? (
        <ul class="legs">
          {story.orders.map((o) => (
            <li key={o.client_order_id} data-leg={o.leg} data-status={o.status}>
              <b>{o.leg}</b> {o.side} {amount(o.amount)} {o.market} {o.type}
              {o.price !== null ? ` ${money(o.price)}` : ''}
              {o.stop_loss !== null ? ` stop ${money(o.stop_loss)}` : ''}
              {o.take_profit !== null ? ` target ${money(o.take_profit)}` : ''} ·{' '}
              <span class={`status s-${o.status}`}>{o.status}</span>
              {o.filled > 0 && (
                <span>
                  {' '}
                  · filled {amount(o.filled)} @ {money(o.avg_price)}
                  {o.fee_quote > 0 ? `, fee ${money(o.fee_quote)}` : ''}
                </span>
              )}
              {o.error && <div class="down">{o.error}</div>}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No orders for this signal.</p>
      )}
      <h3>P&amp;L</h3>
      <p id="story-pnl">
        {story.pnl.realized === null && story.pnl.unrealized === null
          ? 'none of its own'
          : [
              story.pnl.realized !== null ? `realised ${signed(story.pnl.realized)}` : '',
              story.pnl.unrealized !== null ? `unrealised ${signed(story.pnl.unrealized)}` : '',
            ]
              .filter(Boolean)
              .join(' · ')}
        {story.pnl.fees > 0 ? ` (fees ${money(story.pnl.fees)})` : ''}
      </p>
    </div>
  );
}

export function Positions({ rows, quote }: { rows: PositionView[]; quote: string }) {
  if (!rows.length) return <p class="empty">No open positions.</p>;
  return (
    <div id="positions" class="cardlist">
      {rows.map((p) => (
        <article key={p.market} class="pos" data-market={p.market} data-entry={p.entry}>
          <div class="row-top">
            <b class="sym">{p.market}</b>
            <span>{amount(p.amount)}</span>
            <span class={`big ${(p.unrealized ?? 0) >= 0 ? 'up' : 'down'}`}>
              {p.unrealized === null ? '–' : signed(p.unrealized, quote)}
            </span>
          </div>
          <div class="muted">
            entry {money(p.entry)} · last{' '}
            <span title={p.price_at ? `recorded ${time(p.price_at)}` : ''}>{money(p.price)}</span> · value{' '}
            {money(p.value, quote)}
            {p.fees > 0 ? ` · fees ${money(p.fees)}` : ''}
          </div>
          {p.adopted > 0 && (
            <div class="muted adopted" data-adopted={p.adopted}>
              {p.adopted >= p.amount ? 'all' : amount(p.adopted)} adopted from the broker at start
            </div>
          )}
          {p.protective.length > 0 && (
            <div class="muted legs">{protectionText(p.protective).join(' · ')}</div>
          )}
        </article>
      ))}
    </div>
  );
}

export function Orders({ rows }: { rows: OrderRow[] }) {
  if (!rows.length) return <p class="empty">No orders yet.</p>;
  return (
    <div id="orders" class="cardlist">
      {rows.map((o) => (
        <article key={o.client_order_id} class="order" data-order={o.client_order_id} data-status={o.status}>
          <div class="row-top">
            <span class="muted">
              {time(o.updated_at)} · #{o.seq} {o.leg}
            </span>
            <b>
              {o.side} {amount(o.amount)} {o.market}
            </b>
            <span class={`status s-${o.status}`} title={o.error ?? ''}>
              {o.status}
            </span>
          </div>
          {o.filled > 0 && (
            <div class="muted">
              filled {amount(o.filled)} @ {money(o.avg_price)}
            </div>
          )}
        </article>
      ))}
    </div>
  );
}

/** P&L per bucket as a table with a bar per row (realised + unrealised), scaled to the largest. */
export function Buckets({
  id,
  rows,
  quote,
}: {
  id: string;
  /** `label`: what the row reads as, when not its key (e.g. "pre-market" for pre). */
  rows: (PnlBucket & { label?: string })[];
  quote: string;
}) {
  if (!rows.length) return <p class="empty">No fills yet.</p>;
  const max = Math.max(...rows.map((r) => Math.abs(r.realized + r.unrealized)), 1e-9);
  return (
    <table class="bars" id={id}>
      <tbody>
        {rows.map((r) => {
          const total = r.realized + r.unrealized;
          return (
            <tr key={r.key} data-key={r.key} data-realized={r.realized.toFixed(6)}>
              <th>
                {r.label ?? r.key}
                <div class="muted">
                  {r.entries} {r.entries === 1 ? 'entry' : 'entries'}
                </div>
              </th>
              <td class="bar-cell">
                <div
                  class={`bar ${total >= 0 ? 'up' : 'down'}`}
                  style={{ width: `${Math.round((Math.abs(total) / max) * 100)}%` }}
                />
              </td>
              <td class={`num ${total >= 0 ? 'up' : 'down'}`}>
                {signed(total, quote)}
                <div class="muted">realised {signed(r.realized)}</div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
