// A uPlot line chart (canvas) of several series that may have different x values; uPlot.join
// aligns them on one x axis. Resizes with its container and follows the colour theme.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  x: number[];
  y: number[];
  dash?: number[];
  /** draw point markers (sparse series such as validation) */
  points?: boolean;
}

export const PALETTE = ['#2f6feb', '#d9480f', '#2b8a3e', '#ae3ec9', '#e8590c', '#1098ad', '#c2255c', '#5c940d'];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function LineChart({ title, series, xLabel, height = 200 }: { title: string; series: ChartSeries[]; xLabel: string; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || series.length === 0) return;
    const tables = series.map((s) => [Float64Array.from(s.x), Float64Array.from(s.y)] as uPlot.AlignedData);
    const data = tables.length === 1 ? tables[0]! : uPlot.join(tables);
    const fg = cssVar('--muted', '#5d6678');
    const grid = cssVar('--border', '#d8dde6');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [{ ...axis, label: xLabel }, { ...axis, size: 56 }],
      series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: true, dash: s.dash, points: { show: !!s.points, size: 6, fill: s.color } }))],
    };
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [series, xLabel, height]);
  return (
    <figure className="chart" aria-label={`${title} chart`} role="figure" data-x={xLabel}>
      <figcaption>{title}</figcaption>
      {series.length === 0 ? <div className="muted chart-empty">no data for the selected runs</div> : <div ref={box} />}
    </figure>
  );
}

/** Exponential moving average with TensorBoard's debiasing; alpha 0 returns the input. */
export function ema(values: number[], alpha: number): number[] {
  if (alpha <= 0) return values.slice();
  const out: number[] = [];
  let last = 0;
  let n = 0;
  for (const v of values) {
    last = last * alpha + (1 - alpha) * v;
    n++;
    out.push(last / (1 - Math.pow(alpha, n)));
  }
  return out;
}
