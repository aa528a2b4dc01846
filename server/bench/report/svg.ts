/** Hand-made SVG bar charts (no browser, no chart library): grouped bars, one panel each, on a grid. */

export interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

export interface Panel {
  title: string;
  unit: string;
  categories: string[];
  series: Series[];
}

const W = 460;
const H = 260;
const PAD = { top: 34, right: 12, bottom: 46, left: 58 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function label(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  return `${+v.toFixed(2)}`;
}

function panel(p: Panel, x0: number, y0: number): string {
  const all = p.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = niceMax(Math.max(0, ...all));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const groupW = plotW / Math.max(1, p.categories.length);
  const barW = Math.min(40, (groupW * 0.8) / Math.max(1, p.series.length));
  const y = (v: number) => y0 + PAD.top + plotH - (v / max) * plotH;
  const out: string[] = [`<text x="${x0 + W / 2}" y="${y0 + 18}" class="t">${esc(p.title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(
      `<line x1="${x0 + PAD.left}" x2="${x0 + W - PAD.right}" y1="${y(v)}" y2="${y(v)}" class="g"/>`,
      `<text x="${x0 + PAD.left - 4}" y="${y(v) + 4}" class="a" text-anchor="end">${label(v)}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + 12}" y="${y0 + PAD.top + plotH / 2}" class="a" transform="rotate(-90 ${x0 + 12} ${y0 + PAD.top + plotH / 2})" text-anchor="middle">${esc(p.unit)}</text>`,
  );
  p.categories.forEach((cat, ci) => {
    const gx = x0 + PAD.left + ci * groupW + (groupW - barW * p.series.length) / 2;
    p.series.forEach((s, si) => {
      const v = s.values[ci];
      const bx = gx + si * barW;
      if (v === null || v === undefined || !Number.isFinite(v)) {
        out.push(`<text x="${bx + barW / 2}" y="${y(0) - 3}" class="a" text-anchor="middle">n/a</text>`);
        return;
      }
      out.push(
        `<rect x="${bx + 1}" y="${y(v)}" width="${barW - 2}" height="${y(0) - y(v)}" fill="${s.color}"><title>${esc(`${cat} ${s.name}: ${label(v)} ${p.unit}`)}</title></rect>`,
        `<text x="${bx + barW / 2}" y="${y(v) - 3}" class="v" text-anchor="middle">${label(v)}</text>`,
      );
    });
    out.push(
      `<text x="${x0 + PAD.left + ci * groupW + groupW / 2}" y="${y0 + H - PAD.bottom + 16}" class="a" text-anchor="middle">${esc(cat)}</text>`,
    );
  });
  p.series.forEach((s, si) => {
    const lx = x0 + PAD.left + si * 90;
    out.push(
      `<rect x="${lx}" y="${y0 + H - 16}" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${lx + 14}" y="${y0 + H - 7}" class="a">${esc(s.name)}</text>`,
    );
  });
  return out.join('\n');
}

/** Panels laid out two per row. */
export function chart(panels: Panel[], caption: string): string {
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const width = W * cols;
  const height = H * rows + 24;
  const body = panels.map((p, i) => panel(p, (i % cols) * W, Math.floor(i / cols) * H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">
<style>.t{font-size:13px;font-weight:600;text-anchor:middle}.a{font-size:10px;fill:#444}.v{font-size:9px;fill:#222}.g{stroke:#ddd;stroke-width:1}</style>
<rect width="100%" height="100%" fill="#fff"/>
${body}
<text x="8" y="${height - 8}" class="a">${esc(caption)}</text>
</svg>
`;
}
