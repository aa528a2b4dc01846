import { useEffect, useState } from 'preact/hooks';
import type { Presence, Snapshot } from '../../src/dashboard/api.js';
import { SESSION_LABEL, ago } from './format.js';
import type { LiveState } from './live.js';

/**
 * The header that tells the truth (docs/client.md#dashboard): is `run` alive, is it connected to the signal
 * server and the broker, when did the last signal arrive, paper or LIVE, paused or not. Red when trading is not
 * happening as expected; the page's own link to the dashboard counts too (a page that lost the dashboard knows
 * nothing about `run`).
 */

type Tone = 'ok' | 'warn' | 'bad' | 'none';

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

const RUN_TEXT: Record<Presence['run']['state'], string> = {
  alive: 'running',
  stale: 'NOT RUNNING (no heartbeat)',
  stopped: 'stopped',
  never: 'never started',
};

function serverTone(s: string): Tone {
  if (s === 'connected') return 'ok';
  if (s === 'lost' || s === 'stopped') return 'bad';
  if (s === 'unknown') return 'none';
  return 'warn';
}

function Pill({
  id,
  label,
  text,
  tone,
  title,
}: {
  id: string;
  label: string;
  text: string;
  tone: Tone;
  title?: string;
}) {
  return (
    <span class={`pill t-${tone}`} id={id} data-tone={tone} title={title}>
      <span class="dot" aria-hidden="true" />
      <span class="muted">{label}</span> {text}
    </span>
  );
}

export function PresenceHeader({
  snap,
  live,
  pause,
}: {
  snap: Snapshot;
  live: LiveState;
  pause: preact.ComponentChildren;
}) {
  const now = useNow(1000);
  const p = snap.presence;
  const linked = live === 'live';
  // Without the dashboard link nothing below is current: say so instead of showing old green.
  const level: Tone = linked ? p.level : 'bad';
  const runTone: Tone = !linked ? 'none' : p.run.state === 'alive' ? 'ok' : 'bad';
  const since = (t: number | null) => (t === null ? '' : ` (${ago(t, now)})`);
  return (
    <header class={`presence p-${level}`} id="presence" data-level={level}>
      {snap.mode === 'live' ? (
        <div class="live-banner" id="mode" data-mode="live">
          LIVE TRADING: real orders, real money
        </div>
      ) : null}
      <div class="presence-row">
        <h1>Catalyst client</h1>
        {snap.mode === 'paper' && (
          <span class="badge mode-paper" id="mode" data-mode="paper">
            paper
          </span>
        )}
        <Pill
          id="p-run"
          label="run"
          tone={runTone}
          text={linked ? RUN_TEXT[p.run.state] : 'unknown'}
          title={p.run.at ? `last heartbeat ${new Date(p.run.at).toLocaleString()}` : undefined}
        />
        <Pill
          id="p-server"
          label="signal server"
          tone={linked ? serverTone(p.server.state) : 'none'}
          text={
            linked
              ? `${p.server.state}${p.server.state === 'unknown' ? '' : since(p.server.since)}`
              : 'unknown'
          }
          title={p.server.detail ?? undefined}
        />
        <Pill
          id="p-broker"
          label="broker stream"
          tone={linked ? serverTone(p.broker.state) : 'none'}
          text={linked ? p.broker.state : 'unknown'}
          title={p.broker.detail ?? undefined}
        />
        <span class="pill t-none" id="p-last-signal">
          <span class="muted">last signal</span>{' '}
          {p.last_signal_at === null ? 'none yet' : `${ago(p.last_signal_at, now)} ago`}
        </span>
        <span class="pill t-none" id="session">
          {snap.session ? SESSION_LABEL[snap.session.kind] : '24/7 market'}
        </span>
        <span class={`pill ${snap.kill_switch.on ? 't-bad' : 't-ok'}`} id="kill-state">
          <span class="dot" aria-hidden="true" />
          {snap.kill_switch.on
            ? `PAUSED${snap.kill_switch.reason ? `: ${snap.kill_switch.reason}` : ''}`
            : 'entries on'}
        </span>
        <span class={`pill live-${live}`} id="live-state" title="this page's link to the dashboard process">
          <span class="muted">page</span> {live === 'live' ? 'linked' : live}
        </span>
        {pause}
      </div>
    </header>
  );
}
