// Hand-written SVG line charts (experiment reports, research/figures/*.svg): no plotting
// dependency, deterministic output, readable in any browser or on GitHub.

export interface Series {
  name: string;
  points: [number, number][];
  /** CSS colour; defaults to a fixed palette by series index. */
  color?: string;
  /** Dashed line, e.g. for a baseline. */
  dashed?: boolean;
  /** Half-length of an error bar at each point (e.g. a standard error), same order as points. */
  errors?: number[];
  /** Points only, no line through them (e.g. single runs next to their mean). */
  markersOnly?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Fixed y range; defaults to the data range padded to nice ticks. */
  yMin?: number;
  yMax?: number;
}

/** Series colours in order (a caller that pairs series by colour picks from it). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toFixed(10)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export function lineChartSvg(o: LineChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 400;
  const m = { left: 64, right: 16, top: 40, bottom: 52 + 18 * Math.ceil(o.series.length / 3) };
  const finite = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y);
  // Error bars count towards the y range, so a bar is never cut off by the frame.
  const all = o.series
    .flatMap((s) => s.points.flatMap(([x, y], k): [number, number][] => (s.errors?.[k] ? [[x, y - s.errors[k]!], [x, y + s.errors[k]!]] : [[x, y]])))
    .filter(finite);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xTicks = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1);
  const yTicks = niceTicks(o.yMin ?? (ys.length ? Math.min(...ys) : 0), o.yMax ?? (ys.length ? Math.max(...ys) : 1));
  const x0 = xTicks[0]!;
  const x1 = xTicks[xTicks.length - 1]!;
  const y0 = o.yMin ?? yTicks[0]!;
  const y1 = o.yMax ?? yTicks[yTicks.length - 1]!;
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0 || 1)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  for (const t of yTicks) {
    if (t < y0 || t > y1) continue;
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 36}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter(finite);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    s.points.forEach(([x, y], k) => {
      const e = s.errors?.[k];
      if (!e || !finite([x, y]) || !Number.isFinite(e)) return;
      const cx = sx(x).toFixed(1);
      out.push(`<line x1="${cx}" y1="${sy(y - e).toFixed(1)}" x2="${cx}" y2="${sy(y + e).toFixed(1)}" stroke="${color}" stroke-width="1" opacity="0.6"/>`);
    });
    if (pts.length > 1 && !s.markersOnly) {
      const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    const lx = m.left + (i % 3) * (pw / 3);
    const ly = H - m.bottom + 52 + 18 * Math.floor(i / 3);
    if (s.markersOnly) out.push(`<circle cx="${lx + 9}" cy="${ly - 4}" r="3" fill="${color}"/>`);
    else out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 24}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
