import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { TIME_INCRS, TIME_SPACE, money, timeLabels, timeRange } from './format.js';

/** The equity curve (uPlot: ~20 KB gzipped, canvas, no dependencies). Resized with its container. */
export function EquityChart({ points, quote }: { points: { at: number; equity: number }[]; quote: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(240, el.clientWidth);
    const u = new uPlot(
      {
        width: width(),
        height: 200,
        legend: { show: false },
        cursor: { show: true, drag: { x: false, y: false } },
        scales: { x: { time: true, range: (u, min, max) => timeRange(u.data[0] ?? [], min, max) } },
        axes: [
          // Real time labels: whole minutes at least, one short format per axis, spaced so none overlap.
          {
            space: TIME_SPACE,
            incrs: TIME_INCRS,
            values: (_u, ticks, _axis, _space, step) => timeLabels(ticks, step),
          },
          { size: 64, values: (_u, ticks) => ticks.map((t) => money(t)) },
        ],
        series: [{}, { label: 'equity', stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.08)' }],
      },
      [[], []],
      el,
    );
    el.setAttribute('aria-label', `equity curve (${quote})`);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: width(), height: 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [quote]);

  useEffect(() => {
    plot.current?.setData([points.map((p) => p.at / 1000), points.map((p) => p.equity)]);
  }, [points]);

  return <div class="chart" ref={box} />;
}
