import type { Snapshot, TradeStatsView } from '../../src/dashboard/api.js';
import { SESSION_LABEL, signed } from './format.js';
import { Buckets } from './tables.js';

/**
 * The performance view: closed round trips (win rate, average win / loss, fees included) as cards, and the P&L
 * breakdowns as bar tables, two side by side on a desktop and one under the other on a phone.
 */
export function Performance({ snap }: { snap: Snapshot }) {
  const q = snap.quote;
  const breakdowns = [
    { id: 'by-catalyst', title: 'by catalyst kind', rows: snap.pnl_by_catalyst },
    { id: 'by-action', title: 'by action', rows: snap.pnl_by_action },
    {
      id: 'by-session',
      title: 'by session',
      rows: snap.pnl_by_session.map((r) => ({ ...r, label: SESSION_LABEL[r.key] ?? r.key })),
    },
    { id: 'by-confidence', title: 'by confidence', rows: snap.pnl_by_confidence },
  ];
  return (
    <section id="performance">
      <h2>Performance</h2>
      <Trades t={snap.trades} quote={q} />
      <div class="perf-grid">
        {breakdowns.map((b) => (
          <div key={b.id}>
            <h3>P&amp;L {b.title}</h3>
            <Buckets id={b.id} rows={b.rows} quote={q} />
          </div>
        ))}
      </div>
    </section>
  );
}

function Trades({ t, quote }: { t: TradeStatsView; quote: string }) {
  const pct = t.win_rate === null ? '–' : `${Math.round(t.win_rate * 100)}%`;
  return (
    <div id="trades" data-closed={t.closed} data-wins={t.wins} data-losses={t.losses}>
      <div class="cards">
        <div class="card">
          <div class="muted">win rate</div>
          <div class="big">{pct}</div>
          <div class="muted">
            {t.wins} of {t.closed} closed
          </div>
        </div>
        <div class="card">
          <div class="muted">average win</div>
          <div class="big up">{t.avg_win === null ? '–' : signed(t.avg_win, quote)}</div>
        </div>
        <div class="card">
          <div class="muted">average loss</div>
          <div class="big down">{t.avg_loss === null ? '–' : signed(t.avg_loss, quote)}</div>
        </div>
        <div class="card">
          <div class="muted">round trips</div>
          <div class="big">{t.closed}</div>
          <div class="muted">{t.open} open</div>
        </div>
      </div>
      <p class="muted note">
        A round trip: a market bought from flat and sold back to flat; its P&amp;L is what the sells received
        minus what the buys paid, fees included.
      </p>
    </div>
  );
}
