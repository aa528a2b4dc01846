import type { FeedRow, OrderRow, PnlBucket, PositionView } from '../../src/dashboard/api.js';
import { amount, money, signed, time } from './format.js';

/** The page's tables. Rows carry data-* attributes (key, seq, reason) that the browser test reads. */

export function Feed({ rows }: { rows: FeedRow[] }) {
  if (!rows.length)
    return <p class="empty">No decisions yet: signals appear here as the client decides them.</p>;
  return (
    <div class="scroll">
      <table id="feed">
        <thead>
          <tr>
            <th>time</th>
            <th class="wide">seq</th>
            <th>symbol</th>
            <th class="wide">catalyst</th>
            <th>verdict</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr
              key={r.key}
              data-key={r.key}
              data-seq={r.seq}
              data-reason={r.reason}
              data-decided-at={r.decided_at}
              class={`v-${r.verdict}`}
            >
              <td>{time(r.decided_at)}</td>
              <td class="wide">{r.seq}</td>
              <td>
                <b>{r.symbol}</b> {r.direction ?? r.action ?? ''}
                <div class="muted narrow">{r.catalyst ?? ''}</div>
              </td>
              <td class="wide">{r.catalyst ?? ''}</td>
              <td>
                <span class={`verdict v-${r.verdict}`}>
                  {r.redecision ? `${r.verdict} (at open)` : r.verdict}
                </span>
              </td>
              <td title={r.detail ?? ''}>
                <code>{r.reason}</code>
                <div class="muted">{r.reason_text}</div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Positions({ rows, quote }: { rows: PositionView[]; quote: string }) {
  if (!rows.length) return <p class="empty">No open positions.</p>;
  return (
    <div class="scroll">
      <table id="positions">
        <thead>
          <tr>
            <th>market</th>
            <th>amount</th>
            <th>entry</th>
            <th>last</th>
            <th>value</th>
            <th>unrealised</th>
            <th>protection</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.market} data-market={p.market}>
              <td>
                <b>{p.market}</b>
              </td>
              <td>{amount(p.amount)}</td>
              <td>{money(p.entry)}</td>
              <td title={p.price_at ? `recorded ${time(p.price_at)}` : ''}>{money(p.price)}</td>
              <td>{money(p.value, quote)}</td>
              <td class={(p.unrealized ?? 0) >= 0 ? 'up' : 'down'}>
                {p.unrealized === null ? '–' : signed(p.unrealized)}
              </td>
              <td>
                {p.protective.length
                  ? p.protective.map((o) => (
                      <div key={o.client_order_id}>
                        {o.leg} {o.type} @ {money(o.stop_loss ?? o.take_profit ?? o.price)} ({o.status})
                      </div>
                    ))
                  : '–'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Orders({ rows }: { rows: OrderRow[] }) {
  if (!rows.length) return <p class="empty">No orders yet.</p>;
  return (
    <div class="scroll">
      <table id="orders">
        <thead>
          <tr>
            <th>time</th>
            <th class="wide">seq</th>
            <th>market</th>
            <th class="wide">leg</th>
            <th>side</th>
            <th>amount</th>
            <th>fill</th>
            <th>status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((o) => (
            <tr key={o.client_order_id} data-order={o.client_order_id} data-status={o.status}>
              <td>{time(o.updated_at)}</td>
              <td class="wide">{o.seq}</td>
              <td>{o.market}</td>
              <td class="wide">{o.leg}</td>
              <td>{o.side}</td>
              <td>{amount(o.amount)}</td>
              <td>{o.filled > 0 ? `${amount(o.filled)} @ ${money(o.avg_price)}` : '–'}</td>
              <td title={o.error ?? ''}>
                <span class={`status s-${o.status}`}>{o.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** P&L per bucket as a table with a bar per row (realised + unrealised), scaled to the largest. */
export function Buckets({ id, rows, quote }: { id: string; rows: PnlBucket[]; quote: string }) {
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
                {r.key}
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
