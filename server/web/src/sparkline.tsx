import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/**
 * Signals per minute over the last ten minutes (one point every series_step_s). uPlot draws on a canvas:
 * ~20 KB, no DOM per point, and no inline styles the CSP would have to allow.
 */
export function Sparkline(props: { values: readonly number[]; stepS: number; endMs: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  const data = (): uPlot.AlignedData => {
    const n = props.values.length;
    const end = props.endMs / 1000;
    return [props.values.map((_, i) => end - (n - 1 - i) * props.stepS), [...props.values]];
  };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const p = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 110,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        // Always the last ten minutes, also right after a start (one point would stretch the axis to years).
        scales: {
          x: { time: true, range: (_u, _min, max) => [max - 600, max] },
          y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.2))] },
        },
        axes: [
          {
            stroke: '#8b949e',
            grid: { show: false },
            ticks: { show: false },
            size: 24,
            space: 70,
            values: (_u, splits) =>
              splits.map((t) =>
                new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
              ),
          },
          { stroke: '#8b949e', grid: { stroke: '#30363d', width: 1 }, ticks: { show: false }, size: 36 },
        ],
        series: [{}, { stroke: '#58a6ff', width: 2, fill: 'rgba(88,166,255,0.15)', points: { show: false } }],
      },
      data(),
      el,
    );
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: Math.max(200, el.clientWidth), height: 110 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = undefined;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data());
  }, [props.values, props.endMs]);

  return <div class="spark" ref={box} aria-label="signals per minute, last ten minutes" />;
}
