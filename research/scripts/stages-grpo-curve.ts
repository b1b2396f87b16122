// Plot greedy val-accuracy (or val-grounding, or sampled val-accuracy) curves of several
// grpo-run.ts runs on one chart: the JSON of `--json`, or the text it prints otherwise (one
// "step N ... val acc X [sampled Y] ... grounding Z" row per eval).
// Run: npx tsx research/scripts/stages-grpo-curve.ts [--grounding | --sampled] [--y LO:HI] OUT.svg RUN.json=label [RUN.log=label ...]
// --y zooms the y axis (changes of a few points are flat lines on the default range).
import { readFileSync, writeFileSync } from 'node:fs';
import { lineChartSvg, type Series } from '../../src/main/io/svg-chart';

interface GrpoRunJson {
  config: { loss_type: string; learning_rate: number };
  curve: { step: number; val: { accuracy: number; grounding_rate: number; mean_length: number; sampled?: { accuracy: number } | null } }[];
}

const USAGE = 'usage: npx tsx research/scripts/stages-grpo-curve.ts [--grounding | --sampled] [--y LO:HI] OUT.svg RUN.json=label [RUN.json=label ...]';
const args = process.argv.slice(2);
const metric = args[0] === '--grounding' ? 'grounding' : args[0] === '--sampled' ? 'sampled' : 'val acc';
if (metric !== 'val acc') args.shift();
let yRange: { yMin: number; yMax: number } | null = null;
if (args[0] === '--y') {
  const [lo, hi] = (args[1] ?? '').split(':').map(Number);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo! >= hi!) {
    console.error(`--y expects LO:HI with LO < HI, got "${args[1] ?? ''}"\n${USAGE}`);
    process.exit(2);
  }
  yRange = { yMin: lo!, yMax: hi! };
  args.splice(0, 2);
}
const [out, ...runs] = args;
if (!out || runs.length === 0) {
  console.error(USAGE);
  process.exit(2);
}
const row = new RegExp(`^step\\s+(\\d+)\\b.*?\\b${metric} ([\\d.]+)`, 'gm');
const value = (v: GrpoRunJson['curve'][number]['val']): number => {
  if (metric === 'grounding') return v.grounding_rate;
  if (metric === 'val acc') return v.accuracy;
  if (!v.sampled) throw new Error('a run without --val-samples has no sampled val accuracy');
  return v.sampled.accuracy;
};
const series: Series[] = runs.map((arg) => {
  const [file, label] = arg.split('=');
  const text = readFileSync(file!, 'utf8');
  if (!text.trimStart().startsWith('{')) {
    const points = [...text.matchAll(row)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    if (points.length === 0) throw new Error(`${file}: neither --json output nor "step N ... ${metric} X" rows`);
    return { name: label ?? file!, points };
  }
  const run = JSON.parse(text) as GrpoRunJson;
  return { name: label ?? `${run.config.loss_type} lr ${run.config.learning_rate}`, points: run.curve.map((c) => [c.step, value(c.val)] as [number, number]) };
});
const chart = {
  grounding: { title: 'GRPO from an SFT checkpoint: share of grounded readings (greedy val)', yLabel: 'val grounding', yMin: 0.6, yMax: 1 },
  sampled: { title: 'GRPO from an SFT checkpoint: sampled val accuracy (mean of K samples per task)', yLabel: 'sampled val accuracy', yMin: 0, yMax: 0.6 },
  'val acc': { title: 'GRPO from an SFT checkpoint: greedy val accuracy', yLabel: 'val accuracy', yMin: 0, yMax: 0.6 },
}[metric];
writeFileSync(out, lineChartSvg({ ...chart, ...yRange, xLabel: 'GRPO step', series }));
console.log(`wrote ${out}`);
