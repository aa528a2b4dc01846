import { useEffect, useState } from 'preact/hooks';
import type { FeedRow, Snapshot } from '../../src/dashboard/api.js';
import { Unauthorized, answerApproval, fetchSnapshot, login, setKillSwitch } from './api.js';
import { PendingApprovals } from './approvals.js';
import { EquityChart } from './chart.js';
import { ExportBar } from './export.js';
import { money, signed } from './format.js';
import { startLive, type LiveState } from './live.js';
import { PauseControl } from './pause.js';
import { PresenceHeader } from './presence.js';
import { Performance } from './performance.js';
import { Feed, Orders, Positions } from './tables.js';
import { forgetToken, storeToken } from './token.js';

const FEED_MAX = 500;
const REFRESH_MS = 500;

/** Seqs of the live events this page applied, in order: the browser test checks none is applied twice. */
declare global {
  interface Window {
    __dashboard?: { applied: number[]; resets: number; reconnects: number };
  }
}
const probe = (window.__dashboard = { applied: [] as number[], resets: 0, reconnects: 0 });

export function App({ initialToken }: { initialToken: string | undefined }) {
  const [token, setToken] = useState(initialToken);
  const [snap, setSnap] = useState<Snapshot>();
  const [feed, setFeed] = useState<FeedRow[]>([]);
  const [live, setLive] = useState<LiveState>('connecting');
  const [problem, setProblem] = useState<string>();
  const [rejected, setRejected] = useState(false);

  useEffect(() => {
    if (!token) return;
    let stopped = false;
    let conn: { stop(): void } | undefined;
    let refreshTimer: ReturnType<typeof setTimeout> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    const fail = (e: unknown) => {
      if (e instanceof Unauthorized) {
        stopped = true;
        conn?.stop();
        forgetToken();
        setRejected(true);
        setToken(undefined);
        return;
      }
      setProblem((e as Error).message);
      retryTimer = setTimeout(() => void load(), 2000);
    };
    // Positions, orders and P&L follow from the snapshot; the feed rows come from the stream alone. At most one
    // snapshot per REFRESH_MS: a burst of decisions must not queue a snapshot per row ahead of the next rows.
    let lastRefresh = 0;
    const refresh = () => {
      if (refreshTimer !== undefined) return;
      const wait = Math.max(30, lastRefresh + REFRESH_MS - Date.now());
      refreshTimer = setTimeout(() => {
        refreshTimer = undefined;
        lastRefresh = Date.now();
        fetchSnapshot(token)
          .then((s) => !stopped && setSnap(s))
          .catch(fail);
      }, wait);
    };
    const load = async () => {
      conn?.stop();
      try {
        const s = await fetchSnapshot(token);
        if (stopped) return;
        setProblem(undefined);
        setSnap(s);
        setFeed(s.feed);
        conn = startLive(token, s.stream, {
          onEvent: (e) => {
            probe.applied.push(e.seq);
            if (e.kind === 'decision') setFeed((f) => [e.decision, ...f].slice(0, FEED_MAX));
            if (e.kind === 'adoption') setFeed((f) => [e.adoption, ...f].slice(0, FEED_MAX));
            if (e.kind === 'kill_switch') setSnap((p) => p && { ...p, kill_switch: e.kill_switch });
            if (e.kind === 'presence') return setSnap((p) => p && { ...p, presence: e.presence });
            refresh();
          },
          onState: (st) => {
            if (st === 'reconnecting') {
              probe.reconnects++;
              // A restarted dashboard has a new token: ask once per (paced) reconnect whether ours still works.
              fetchSnapshot(token).catch((e) => e instanceof Unauthorized && fail(e));
            }
            setLive(st);
          },
          onReset: () => {
            probe.resets++;
            if (!stopped) void load();
          },
        });
      } catch (e) {
        if (!stopped) fail(e);
      }
    };
    void load();
    return () => {
      stopped = true;
      conn?.stop();
      clearTimeout(refreshTimer);
      clearTimeout(retryTimer);
    };
  }, [token]);

  if (!token) return <NoToken rejected={rejected} onToken={(t) => (storeToken(t), setToken(t))} />;
  if (!snap)
    return (
      <main class="loading">
        <p>{problem ?? 'Loading…'}</p>
      </main>
    );
  const q = snap.quote;
  const equity = snap.pnl.equity_start + snap.pnl.realized + snap.pnl.unrealized;
  return (
    <main>
      <PresenceHeader
        snap={snap}
        live={live}
        pause={
          <PauseControl
            state={snap.kill_switch}
            onConfirm={async (on, reason) => {
              const ks = await setKillSwitch(token, on, reason);
              setSnap((p) => p && { ...p, kill_switch: ks });
            }}
          />
        }
      />
      {/* The presence events carry the halt as it changes; the snapshot's is as of its last load. */}
      {(snap.presence.halted ?? snap.halted) && (
        <p class="banner down">HALTED: {snap.presence.halted ?? snap.halted} (see catalyst-client status)</p>
      )}
      {problem && <p class="banner down">{problem}</p>}
      <PendingApprovals
        rows={snap.approvals}
        onAnswer={(r, action) => answerApproval(token, r.epoch, r.seq, action)}
      />
      <section class="cards" id="pnl">
        <Card
          label={snap.venue === 'us_equity' ? 'today (ET)' : 'today (UTC)'}
          value={signed(snap.pnl.today_realized, q)}
          tone={snap.pnl.today_realized}
        />
        <Card label="unrealised" value={signed(snap.pnl.unrealized, q)} tone={snap.pnl.unrealized} />
        <Card label="realised" value={signed(snap.pnl.realized, q)} tone={snap.pnl.realized} />
        <Card label="equity" value={money(equity, q)} />
      </section>
      <section>
        <h2>Open positions</h2>
        <Positions rows={snap.positions} quote={q} />
      </section>
      <section>
        <h2>Signal feed</h2>
        <Feed rows={feed} token={token} orders={snap.orders} />
      </section>
      <section>
        <h2>Equity</h2>
        <EquityChart points={snap.equity_curve} quote={q} />
      </section>
      <Performance snap={snap} />
      <section>
        <h2>Orders</h2>
        <Orders rows={snap.orders} />
      </section>
      <ExportBar
        token={token}
        onUnauthorized={() => {
          // As a refused snapshot: the effect's cleanup stops the live feed when the token goes.
          forgetToken();
          setRejected(true);
          setToken(undefined);
        }}
      />
    </main>
  );
}

function Card({ label, value, tone }: { label: string; value: string; tone?: number }) {
  const cls = tone === undefined ? '' : tone > 0 ? 'up' : tone < 0 ? 'down' : '';
  return (
    <div class="card">
      <div class="muted">{label}</div>
      <div class={`big ${cls}`}>{value}</div>
    </div>
  );
}

function NoToken({ rejected, onToken }: { rejected: boolean; onToken: (t: string) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  return (
    <main class="loading" id="no-token">
      <h1>Catalyst client dashboard</h1>
      {rejected && (
        <p class="banner down">
          The dashboard refused this link&apos;s token: it was restarted (every start prints a new link) or
          the link is wrong.
        </p>
      )}
      <p>
        This page needs the link <code>catalyst-client dashboard</code> printed when it started: it carries a
        one-time token (<code>http://127.0.0.1:PORT/#token=…</code>). Open that link again, or restart the
        dashboard for a new one.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          login(password).then(onToken, (err: Error) => setError(err.message));
        }}
      >
        <label>
          Or, if the dashboard was started with a password:{' '}
          <input
            type="password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>{' '}
        <button type="submit">Log in</button>
      </form>
      {error && <p class="down">{error}</p>}
    </main>
  );
}
