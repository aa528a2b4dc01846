import { inertText, type Signal, type StatusFrame, type StatusReplica } from '@catalyst-signal/shared';
import { bytes, duration, int, millis, time } from './format.js';
import { Sparkline } from './sparkline.js';

function Stat(props: { label: string; value: string; hint?: string | undefined; testid?: string }) {
  return (
    <div class="stat" data-testid={props.testid}>
      <div class="label">{props.label}</div>
      <div class="value">{props.value}</div>
      {props.hint && <div class="hint">{props.hint}</div>}
    </div>
  );
}

export function Clients(props: { clients: StatusFrame['clients'] }) {
  const c = props.clients;
  return (
    <section>
      <h2>
        Connected clients{' '}
        <span class="muted">
          {int(c.sockets)} sockets, {int(c.keys_total)} keys
        </span>
      </h2>
      {c.unauthenticated > 0 && <p class="muted">{c.unauthenticated} socket(s) waiting to authenticate</p>}
      <div class="scroll">
        <table data-testid="clients">
          <thead>
            <tr>
              <th>key</th>
              <th class="wide">id</th>
              <th class="num">sockets</th>
              <th>state</th>
              <th class="num">lag</th>
              <th class="num">buffered</th>
              <th class="num">connected</th>
            </tr>
          </thead>
          <tbody>
            {c.keys.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  nobody connected
                </td>
              </tr>
            )}
            {c.keys.map((k) =>
              k.listed.map((s, i) => (
                <tr key={`${k.key_id}/${s.id}`} data-key-id={k.key_id}>
                  {i === 0 && (
                    <>
                      <td rowSpan={k.listed.length} class="key">
                        {k.name}
                        {s.status && <span class="tag">status</span>}
                        <div class="muted small">{k.scopes.join(', ')}</div>
                      </td>
                      <td rowSpan={k.listed.length} class="mono small wide">
                        {k.key_id}
                      </td>
                      <td rowSpan={k.listed.length} class="num">
                        {k.sockets}
                      </td>
                    </>
                  )}
                  <td>
                    <span class={`state ${s.state}`}>{s.state}</span>
                    {s.filtered && <span class="muted small"> filtered</span>}
                  </td>
                  <td class="num">{int(s.lag)}</td>
                  <td class="num">{bytes(s.buffered_bytes)}</td>
                  <td class="num">{duration(s.connected_s)}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>
      {c.keys_total > c.keys.length && (
        <p class="muted">and {c.keys_total - c.keys.length} more keys (the busiest are listed)</p>
      )}
    </section>
  );
}

export function Recent(props: { signals: readonly Signal[] }) {
  return (
    <section>
      <h2>Recent signals</h2>
      <ol class="recent" data-testid="recent">
        {props.signals.length === 0 && <li class="muted">none yet</li>}
        {props.signals.map((s) => (
          <li key={s.seq} data-seq={s.seq}>
            <span class="mono">#{s.seq}</span> <strong>{s.symbol}</strong>{' '}
            <span class="tag">{s.catalyst}</span>{' '}
            <span class={`dir ${s.direction ?? ''}`}>{s.action ?? s.direction}</span>{' '}
            <span class="muted small">
              {(s.confidence * 100).toFixed(0)}% · {time(s.ingested_at)}
            </span>
            {/* The page does not trust the frame to be clean: a bidi override could reorder what is shown. */}
            <div class="headline">{inertText(s.headline)}</div>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A gateway's replica: how far behind the cluster log's head it serves (what a failover would lose). */
function Replica(props: { replica: StatusReplica }) {
  const r = props.replica;
  return (
    <Stat
      label="replica lag"
      value={r.diverged ? 'diverged' : int(r.replica_lag)}
      hint={r.diverged ?? `applied ${int(r.applied_seq)} of log head ${int(r.cluster_last_seq)}`}
      testid="replica"
    />
  );
}

export function StatusView(props: { status: StatusFrame | undefined; recent: readonly Signal[] }) {
  const s = props.status;
  if (!s) return <p class="muted">Waiting for the first status…</p>;
  const w = `last ${Math.round(s.window_s)} s`;
  return (
    <>
      <section class="stats">
        <Stat
          label="signals / min"
          value={int(s.signals.per_min)}
          hint={
            // A gateway ingests nothing: it counts what it applied from the cluster log and serves.
            s.replica
              ? `${int(s.signals.published_total)} applied since start`
              : `${int(s.signals.ingested_total)} since start`
          }
          testid="per-min"
        />
        <Stat
          label="head seq"
          value={int(s.head_seq)}
          hint={`first retained ${int(s.first_seq)}`}
          testid="head-seq"
        />
        {s.replica && <Replica replica={s.replica} />}
        <Stat label="database" value={bytes(s.db_size_bytes)} hint={`epoch ${s.epoch}`} />
        <Stat label="uptime" value={duration(s.uptime_s)} hint={s.server_id} />
        {/* A gateway commits no ingest: its card would only ever read "— / —, 0 commits". */}
        {!s.replica && (
          <Stat
            label="ingest p50 / p99"
            value={`${millis(s.latency.ingest.p50_ms)} / ${millis(s.latency.ingest.p99_ms)}`}
            hint={`${int(s.latency.ingest.count)} commits, ${w}`}
          />
        )}
        <Stat
          label="fan-out p50 / p99"
          value={`${millis(s.latency.fanout.p50_ms)} / ${millis(s.latency.fanout.p99_ms)}`}
          hint={`${int(s.latency.fanout.count)} groups, ${w}`}
        />
        <Stat
          label="slow-consumer closes"
          value={int(s.closes.slow_consumer_total)}
          hint={`${int(s.closes.slow_consumer_window)} ${w}`}
        />
        <Stat
          label="rate-limit rejections"
          value={int(s.rate_limited.total)}
          hint={`${int(s.rate_limited.window)} ${w}`}
        />
      </section>
      <section>
        <h2>
          Signals per minute <span class="muted">trailing minute, last 10 min</span>
        </h2>
        <Sparkline values={s.signals.series} stepS={s.signals.series_step_s} endMs={s.time} />
      </section>
      <Clients clients={s.clients} />
      <Recent signals={props.recent} />
    </>
  );
}
