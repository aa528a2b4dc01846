import {
  inertText,
  SIGNAL_ACTIONS,
  TRACK_RECORD_GROUPS,
  type TrackRecord,
  type TrackRecordGroup,
  type TrackRecordStory,
} from '@catalyst-signal/shared';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { int } from '../format.js';
import type { Filters } from './fetch.js';

/** Returns are fractions of price: shown in percent with two decimals; unknown is a dash, never 0. */
export const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)} %`;
const ci = (c: readonly [number, number] | null) => (c ? `${pct(c[0])} … ${pct(c[1])}` : 'n < 2');
const MISSING_WORDS: Record<string, string> = {
  no_bars: 'no trade',
  not_yet: 'not yet',
  no_calendar: 'no calendar',
};
const COLORS = [
  '#58a6ff',
  '#3fb950',
  '#d29922',
  '#f85149',
  '#bc8cff',
  '#39c5cf',
  '#ff7b72',
  '#e3b341',
  '#8b949e',
];
type GroupBy = (typeof TRACK_RECORD_GROUPS)[number];

function FilterBar(props: {
  filters: Filters;
  catalysts: string[];
  busy: boolean;
  onFilters(f: Filters): void;
}) {
  const [f, setF] = useState(props.filters);
  const field = (k: keyof Filters) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  return (
    <form
      class="filters"
      method="post"
      data-testid="filters"
      onSubmit={(e) => {
        e.preventDefault();
        props.onFilters(f);
      }}
    >
      <label>
        from <input type="date" name="from" value={f.from} onInput={field('from')} />
      </label>
      <label>
        to <input type="date" name="to" value={f.to} onInput={field('to')} />
      </label>
      <label>
        symbol <input name="symbol" size={6} value={f.symbol} onInput={field('symbol')} />
      </label>
      <label>
        catalyst{' '}
        <select name="catalyst" value={f.catalyst} onChange={field('catalyst')}>
          <option value="">all</option>
          {props.catalysts.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      <label>
        action{' '}
        <select name="action" value={f.action} onChange={field('action')}>
          <option value="">all</option>
          {SIGNAL_ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={props.busy}>
        {props.busy ? 'Loading…' : 'Apply'}
      </button>
    </form>
  );
}

function missingText(m: Record<string, number>, pending: number): string {
  const parts = Object.entries(m).map(([k, v]) => `${v} ${MISSING_WORDS[k] ?? k}`);
  if (pending) parts.push(`${pending} pending`);
  return parts.join(', ') || '—';
}

/** One horizon: a row for all signals, then one per group of the chosen grouping. */
function HorizonTable(props: {
  horizon: string;
  index: number;
  overall: TrackRecordGroup;
  groups: TrackRecordGroup[];
}) {
  const rows = [props.overall, ...props.groups];
  return (
    <section>
      <h3>{props.horizon}</h3>
      <div class="scroll">
        <table data-testid={`horizon-${props.horizon}`}>
          <thead>
            <tr>
              <th>group</th>
              <th class="num">signals</th>
              <th class="num">with figure</th>
              <th class="num">hit rate</th>
              <th class="num">mean</th>
              <th class="wide">mean 95 % CI</th>
              <th class="num">median</th>
              <th class="wide">median 95 % CI</th>
              <th class="num">abnormal</th>
              <th>no figure</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((g, i) => {
              const h = g.horizons[props.index]!;
              const r = h.ret;
              return (
                <tr key={g.key} data-key={g.key} class={i === 0 ? 'total' : ''}>
                  <td>{inertText(g.key)}</td>
                  <td class="num">{int(h.signals)}</td>
                  <td class="num">{r ? int(r.n) : 0}</td>
                  <td class="num" title={r ? `95 % CI ${ci(r.hit_rate_ci)}` : undefined}>
                    {r ? `${(r.hit_rate * 100).toFixed(0)} %` : '—'}
                  </td>
                  <td class="num" data-testid="mean">
                    {pct(r?.mean)}
                  </td>
                  <td class="wide small">{r ? ci(r.mean_ci) : '—'}</td>
                  <td class="num">{pct(r?.median)}</td>
                  <td class="wide small">{r ? (r.median_ci ? ci(r.median_ci) : 'n < 6') : '—'}</td>
                  <td class="num">{pct(h.mean_abnormal)}</td>
                  <td class="small muted" data-testid="no-figure">
                    {missingText(h.missing, h.pending)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Mean return by horizon, one line per catalyst (uPlot on a canvas: no inline styles for the CSP). */
function MeanByHorizon(props: { record: TrackRecord }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const names = props.record.horizons.map((h) => h.name);
    const cats = props.record.groups.catalyst;
    const data: uPlot.AlignedData = [
      names.map((_, i) => i),
      ...cats.map((c) => c.horizons.map((h) => (h.ret ? h.ret.mean * 100 : null))),
    ];
    const width = () => Math.max(260, el.clientWidth);
    const p = new uPlot(
      {
        width: width(),
        height: 240,
        cursor: { show: false },
        // Without a cursor there is no value to show beside each name: the legend is a key only.
        legend: { live: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false, range: [-0.3, names.length - 0.7] } },
        axes: [
          {
            stroke: '#8b949e',
            grid: { show: false },
            splits: () => names.map((_, i) => i),
            values: (_u, splits) => splits.map((i) => names[i] ?? ''),
            size: 28,
          },
          {
            stroke: '#8b949e',
            grid: { stroke: '#30363d', width: 1 },
            values: (_u, splits) => splits.map((v) => `${v.toFixed(1)} %`),
            size: 68,
          },
        ],
        series: [
          { label: 'horizon' },
          ...cats.map((c, i) => ({
            label: inertText(c.key),
            stroke: COLORS[i % COLORS.length]!,
            width: 2,
            points: { show: true, size: 5 },
            spanGaps: false,
          })),
        ],
      },
      data,
      el,
    );
    const ro = new ResizeObserver(() => p.setSize({ width: width(), height: 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
    };
  }, [props.record]);
  return (
    <div
      class="chart"
      ref={box}
      data-testid="mean-by-horizon"
      aria-label="mean return by horizon per catalyst"
    />
  );
}

/** The distribution of returns at one horizon: bars in SVG (attributes, not styles: CSP-safe). */
function Distribution(props: { record: TrackRecord }) {
  const [h, setH] = useState(
    props.record.horizons.find((x) => x.name === '1h')?.name ?? props.record.horizons[0]!.name,
  );
  const d = props.record.distribution.find((x) => x.horizon === h);
  const bins = d?.bins ?? [];
  const max = Math.max(1, ...bins.map((b) => b.count));
  const W = 100 / Math.max(1, bins.length);
  const label = (b: (typeof bins)[number]) =>
    b.from === null ? `< ${pct(b.to)}` : b.to === null ? `≥ ${pct(b.from)}` : `${pct(b.from)} … ${pct(b.to)}`;
  return (
    <section>
      <h2>
        Distribution{' '}
        <select aria-label="horizon" value={h} onChange={(e) => setH((e.target as HTMLSelectElement).value)}>
          {props.record.horizons.map((x) => (
            <option key={x.name} value={x.name}>
              {x.name}
            </option>
          ))}
        </select>
      </h2>
      <svg
        class="histogram"
        viewBox="0 0 100 40"
        preserveAspectRatio="none"
        data-testid="distribution"
        role="img"
      >
        {bins.map((b, i) => (
          <rect
            key={i}
            x={i * W + W * 0.1}
            width={W * 0.8}
            y={40 - (38 * b.count) / max}
            height={(38 * b.count) / max}
            class={b.to !== null && b.to <= 0 ? 'neg' : 'pos'}
            data-count={b.count}
          >
            <title>{`${label(b)}: ${b.count}`}</title>
          </rect>
        ))}
      </svg>
      <div class="axis small muted">
        <span>{'< −10 %'}</span>
        <span>0</span>
        <span>{'≥ +10 %'}</span>
      </div>
    </section>
  );
}

/** One signal's path over the horizons: its return, inside the band of its best and worst excursions. */
function StoryChart(props: { story: TrackRecordStory }) {
  const o = props.story.outcomes;
  const vals = o.flatMap((x) => [x.ret, x.mfe, x.mae]).filter((v): v is number => v !== null);
  if (vals.length === 0) return null;
  const hi = Math.max(0.001, ...vals);
  const lo = Math.min(-0.001, ...vals);
  const X = (i: number) => 4 + (i * 92) / Math.max(1, o.length - 1);
  const Y = (v: number) => 2 + (26 * (hi - v)) / (hi - lo);
  const line = (pick: (x: (typeof o)[number]) => number | null) =>
    o
      .map((x, i) => [i, pick(x)] as const)
      .filter((p): p is readonly [number, number] => p[1] !== null)
      .map(([i, v]) => `${X(i).toFixed(2)},${Y(v).toFixed(2)}`)
      .join(' ');
  return (
    <svg class="story-chart" viewBox="0 0 100 30" preserveAspectRatio="none" role="img">
      <line x1="0" x2="100" y1={Y(0)} y2={Y(0)} class="zero" />
      <polyline points={line((x) => x.mfe)} class="mfe" />
      <polyline points={line((x) => x.mae)} class="mae" />
      <polyline points={line((x) => x.ret)} class="ret" />
    </svg>
  );
}

function Story(props: { story: TrackRecordStory }) {
  const s = props.story;
  return (
    <li data-seq={s.seq}>
      <div>
        <span class="mono">#{s.seq}</span> <strong>{inertText(s.symbol)}</strong>{' '}
        <span class={`dir ${s.direction ?? ''}`}>
          {s.action}
          {s.direction && s.action !== 'info' ? ` ${s.direction}` : ''}
        </span>{' '}
        <span class="tag">{inertText(s.catalyst)}</span>
        <span class="tag">{s.session}</span>
        <span class="tag">conf {s.confidence.toFixed(2)}</span>
        {s.publisher && <span class="tag">{inertText(s.publisher)}</span>}{' '}
        <span class="muted small">{new Date(s.classified_at).toLocaleString()}</span>
      </div>
      <StoryChart story={s} />
      <div class="scroll">
        <table class="story">
          <thead>
            <tr>
              <th></th>
              {s.outcomes.map((o) => (
                <th key={o.horizon} class="num">
                  {o.horizon}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {(
              [
                [
                  'return',
                  (o) =>
                    o.state === 'final'
                      ? pct(o.ret)
                      : o.state === 'pending'
                        ? 'pending'
                        : (MISSING_WORDS[o.missing ?? ''] ?? o.missing),
                ],
                ['from 1st trade', (o) => pct(o.ret_first_trade)],
                ['best (MFE)', (o) => pct(o.mfe)],
                ['worst (MAE)', (o) => pct(o.mae)],
                ['abnormal', (o) => pct(o.abnormal_ret)],
                ['bracket', (o) => (o.bracket ? `${o.bracket.first} ${pct(o.bracket.ret)}` : '—')],
              ] as [string, (o: TrackRecordStory['outcomes'][number]) => string][]
            ).map(([name, show]) => (
              <tr key={name}>
                <th>{name}</th>
                {s.outcomes.map((o) => (
                  <td key={o.horizon} class="num" data-horizon={o.horizon}>
                    {show(o)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </li>
  );
}

export function TrackRecordView(props: {
  record: TrackRecord;
  filters: Filters;
  busy: boolean;
  onFilters(f: Filters): void;
}) {
  const r = props.record;
  const [by, setBy] = useState<GroupBy>('catalyst');
  return (
    <>
      <FilterBar
        filters={props.filters}
        catalysts={r.groups.catalyst.map((g) => g.key)}
        busy={props.busy}
        onFilters={props.onFilters}
      />
      <p class="muted small" data-testid="summary">
        {int(r.signals)} signals (us_equity). Returns are signed for the side each signal is judged on: an
        avoid or an exit wins when the price falls. A signal without a trade in a window counts as &ldquo;no
        trade&rdquo;, never as zero. Computed {new Date(r.generated_at).toLocaleString()}.
      </p>
      <section>
        <h2>Mean return by horizon, per catalyst</h2>
        <MeanByHorizon record={r} />
      </section>
      <Distribution record={r} />
      <section>
        <h2>
          By horizon, grouped by{' '}
          <select
            aria-label="group by"
            value={by}
            onChange={(e) => setBy((e.target as HTMLSelectElement).value as GroupBy)}
          >
            {TRACK_RECORD_GROUPS.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </h2>
        {r.horizons.map((h, i) => (
          <HorizonTable key={h.name} horizon={h.name} index={i} overall={r.overall} groups={r.groups[by]} />
        ))}
      </section>
      <section>
        <h2>Signals, newest first</h2>
        <ul class="recent stories" data-testid="stories">
          {r.stories.length === 0 && <li class="muted">no signal matches</li>}
          {r.stories.map((s) => (
            <Story key={s.seq} story={s} />
          ))}
        </ul>
      </section>
    </>
  );
}
