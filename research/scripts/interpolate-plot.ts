// Plot the val change against the step size a of one or more `research/scripts/interpolate.ts` runs (the
// markdown tables they print): greedy solid, sampled dashed, one colour per run. Several logs
// of one END may be given under one label; their rows are merged by a.
//   npx tsx research/scripts/interpolate-plot.ts OUT.svg 'TITLE' RUN.log[+RUN.log…]=label [RUN.log=label …]
import { readFileSync, writeFileSync } from 'node:fs';
import { PALETTE, lineChartSvg, type Series } from '../../src/main/io/svg-chart';

/** Rows `| a | greedy | change ± se | sampled | change ± se | grounding |` as [a, greedy Δ, sampled Δ]; a = 0 is (0, 0, 0). */
export function interpolationRows(text: string): [number, number, number][] {
  const rows = new Map<number, [number, number, number]>();
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 7 || !/^[\d.]+$/.test(cells[1]!)) continue;
    const a = Number(cells[1]);
    if (a === 0) {
      rows.set(0, [0, 0, 0]);
      continue;
    }
    const delta = (cell: string) => Number(cell.split('±')[0]!.replace('−', '-'));
    rows.set(a, [a, delta(cells[3]!), delta(cells[5]!)]);
  }
  return [...rows.values()].sort((x, y) => x[0] - y[0]);
}

const [out, title, ...runs] = process.argv.slice(2);
if (!out || !title || runs.length === 0) {
  console.error("usage: npx tsx research/scripts/interpolate-plot.ts OUT.svg 'TITLE' RUN.log[+RUN.log…]=label …");
  process.exit(2);
}
const series: Series[] = runs.flatMap((arg, i) => {
  const [files, label] = arg.split('=');
  const merged = new Map<number, [number, number, number]>();
  for (const f of files!.split('+')) for (const r of interpolationRows(readFileSync(f, 'utf8'))) merged.set(r[0], r);
  const rows = [...merged.values()].sort((x, y) => x[0] - y[0]);
  if (rows.length < 2) throw new Error(`${files}: fewer than two rows of a research/scripts/interpolate.ts table`);
  const color = PALETTE[i % PALETTE.length]!;
  return [
    { name: `${label ?? files}: greedy`, color, points: rows.map(([a, g]): [number, number] => [a, g]) },
    { name: `${label ?? files}: sampled`, color, dashed: true, points: rows.map(([a, , s]): [number, number] => [a, s]) },
  ];
});
writeFileSync(out, lineChartSvg({ title, xLabel: 'step size a (weight-space norm along the direction)', yLabel: 'val accuracy change from a = 0', series, width: 720 }));
console.log(`wrote ${out}`);
