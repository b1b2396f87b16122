// Val change against the number of GRPO runs averaged (merge.ts, research/scripts/interpolate.ts
// with END1+END2+…): each run or mean of runs is a point with its paired standard error, and
// a line joins the means over points with the same number of runs; greedy and sampled.
//   npx tsx research/scripts/merge-plot.ts OUT.svg 'TITLE' M:LOG [M:LOG …]
// LOG is a grpo-run.ts log (a single run, M = 1) or a research/scripts/interpolate.ts log (its a = 1 row).
import { readFileSync, writeFileSync } from 'node:fs';
import { PALETTE, lineChartSvg, type Series } from '../../src/main/io/svg-chart';

interface Change {
  value: number;
  se: number;
}

const parseChange = (s: string): Change => {
  const m = /([+\-−]?[\d.]+) ± ([\d.]+)/.exec(s);
  if (!m) throw new Error(`no "change ± se" in "${s}"`);
  return { value: Number(m[1]!.replace('−', '-')), se: Number(m[2]) };
};

/** Greedy and sampled change from step 0 (or a = 0) to the end (or a = 1) of one log. */
export function changesOf(text: string, file = 'log'): { greedy: Change; sampled: Change } {
  const greedyLine = /^val accuracy change over .*$/m.exec(text);
  const sampledLine = /^sampled val accuracy change .*$/m.exec(text);
  if (greedyLine && sampledLine) return { greedy: parseChange(greedyLine[0].split(':')[1]!), sampled: parseChange(sampledLine[0].split('):')[1]!) };
  const row = text.split('\n').find((l) => /^\|\s*1\s*\|/.test(l));
  if (!row) throw new Error(`${file}: neither a grpo-run.ts log with both change lines nor a research/scripts/interpolate.ts table with an a = 1 row`);
  const cells = row.split('|').map((c) => c.trim());
  return { greedy: parseChange(cells[3]!), sampled: parseChange(cells[5]!) };
}

const [out, title, ...args] = process.argv.slice(2);
if (!out || !title || args.length === 0) {
  console.error("usage: npx tsx research/scripts/merge-plot.ts OUT.svg 'TITLE' M:LOG [M:LOG …]");
  process.exit(2);
}
const points = args.map((arg) => {
  const [m, file] = [arg.slice(0, arg.indexOf(':')), arg.slice(arg.indexOf(':') + 1)];
  return { m: Number(m), ...changesOf(readFileSync(file, 'utf8'), file) };
});
const ms = [...new Set(points.map((p) => p.m))].sort((a, b) => a - b);
const series: Series[] = (['greedy', 'sampled'] as const).flatMap((kind, i) => {
  const color = PALETTE[i]!;
  // Points at the same M side by side, so their error bars do not overlap.
  const spread = points.map((p) => {
    const same = points.filter((q) => q.m === p.m);
    return p.m + 0.06 * (same.indexOf(p) - (same.length - 1) / 2) + (i - 0.5) * 0.02;
  });
  const mean = (m: number) => {
    const at = points.filter((p) => p.m === m);
    return at.reduce((a, p) => a + p[kind].value, 0) / at.length;
  };
  return [
    { name: `${kind}: mean over runs or merges`, color, dashed: kind === 'sampled', points: ms.map((m): [number, number] => [m, mean(m)]) },
    { name: `${kind}: each (± paired SE)`, color, markersOnly: true, points: points.map((p, k): [number, number] => [spread[k]!, p[kind].value]), errors: points.map((p) => p[kind].se) },
  ];
});
writeFileSync(out, lineChartSvg({ title, xLabel: 'GRPO runs averaged weight by weight', yLabel: 'val accuracy change from the SFT checkpoint', series, width: 720 }));
console.log(`wrote ${out}`);
for (const m of ms) console.log(`M = ${m}: ${points.filter((p) => p.m === m).map((p) => `greedy ${p.greedy.value} ± ${p.greedy.se}, sampled ${p.sampled.value} ± ${p.sampled.se}`).join('; ')}`);
