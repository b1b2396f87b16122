// A uPlot line chart (canvas) of several series that may have different x values; uPlot.join
// aligns them on one x axis. Values of every series show under the chart as the cursor moves;
// the y scale follows the data (a flat series gets a small band, rates never go below 0), and
// tick labels keep enough digits to tell ticks apart. A visually hidden table lists each
// series' range for screen readers and tests.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTicks, yRange } from './scales';

export interface ChartSeries {
  label: string;
  color: string;
  x: number[];
  y: number[];
  dash?: number[];
  /** draw point markers (sparse series such as validation) */
  points?: boolean;
}

/**
 * Colour-blind-safe and distinct for 12 runs: Paul Tol's "muted" scheme (without its pale grey)
 * followed by three Okabe–Ito colours. Past 12 runs colours repeat with a dash pattern.
 */
export const PALETTE = ['#332288', '#44AA99', '#CC6677', '#117733', '#88CCEE', '#882255', '#DDCC77', '#AA4499', '#999933', '#0072B2', '#E69F00', '#D55E00'];
export const paletteDash = (i: number): number[] | undefined => (i < PALETTE.length ? undefined : [[8, 3], [2, 2], [10, 3, 2, 3]][Math.floor(i / PALETTE.length - 1) % 3]);

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function LineChart({
  title,
  series,
  xLabel,
  yLabel,
  nonNegative = false,
  height = 220,
}: {
  title: string;
  series: ChartSeries[];
  xLabel: string;
  yLabel: string;
  nonNegative?: boolean;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || series.length === 0) return;
    const tables = series.map((s) => [Float64Array.from(s.x), Float64Array.from(s.y)] as uPlot.AlignedData);
    const data = tables.length === 1 ? tables[0]! : uPlot.join(tables);
    const fg = cssVar('--muted', '#5d6678');
    const grid = cssVar('--border', '#d8dde6');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: (_u: uPlot, ticks: number[]) => formatTicks(ticks) };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: { range: (_u, min, max) => yRange(min, max, nonNegative) } },
      axes: [
        { ...axis, label: xLabel },
        { ...axis, label: yLabel, size: 64 },
      ],
      series: [
        { label: xLabel, value: (_u, v) => (v == null ? '—' : formatTicks([v])[0]!) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: true,
          dash: s.dash,
          points: { show: !!s.points, size: 6, fill: s.color },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : Number(v.toPrecision(4)).toString()),
        })),
      ],
    };
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [series, xLabel, yLabel, height, nonNegative]);
  return (
    <figure className="chart" aria-label={`${title} chart`} role="figure" data-x={xLabel}>
      <figcaption>
        {title} <span className="muted small">({yLabel})</span>
      </figcaption>
      {series.length === 0 ? <div className="muted chart-empty">no data for the selected runs on this axis</div> : <div ref={box} />}
      <table className="sr-only" aria-label={`${title} series`}>
        <thead>
          <tr>
            <th>series</th>
            <th>points</th>
            <th>{xLabel} from</th>
            <th>to</th>
            <th>last value</th>
          </tr>
        </thead>
        <tbody>
          {series.map((s) => (
            <tr key={s.label} data-series={s.label} data-xs={JSON.stringify(s.x)}>
              <td>{s.label}</td>
              <td>{s.x.length}</td>
              <td>{s.x[0]}</td>
              <td>{s.x.at(-1)}</td>
              <td>{s.y.at(-1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
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
