// Plot val-accuracy (or val-grounding) curves of several `veripo grpo` runs on one chart:
// the JSON of `--json`, or the text it prints otherwise (one "step N ... val acc X" row per eval).
// Run: npx tsx bench/stages-grpo-curve.ts [--grounding] OUT.svg RUN.json=label [RUN.log=label ...]
import { readFileSync, writeFileSync } from 'node:fs';
import { lineChartSvg, type Series } from '../src/main/io/svg-chart';

interface GrpoRunJson {
  config: { loss_type: string; learning_rate: number };
  curve: { step: number; val: { accuracy: number; grounding_rate: number; mean_length: number } }[];
}

const args = process.argv.slice(2);
const grounding = args[0] === '--grounding';
const [out, ...runs] = grounding ? args.slice(1) : args;
if (!out || runs.length === 0) {
  console.error('usage: npx tsx bench/stages-grpo-curve.ts [--grounding] OUT.svg RUN.json=label [RUN.json=label ...]');
  process.exit(2);
}
const row = grounding ? /^step\s+(\d+)\b.*?\bgrounding ([\d.]+)/gm : /^step\s+(\d+)\b.*?\bval acc ([\d.]+)/gm;
const series: Series[] = runs.map((arg) => {
  const [file, label] = arg.split('=');
  const text = readFileSync(file!, 'utf8');
  if (!text.trimStart().startsWith('{')) {
    const points = [...text.matchAll(row)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    if (points.length === 0) throw new Error(`${file}: neither --json output nor "step N ... ${grounding ? 'grounding' : 'val acc'} X" rows`);
    return { name: label ?? file!, points };
  }
  const run = JSON.parse(text) as GrpoRunJson;
  return { name: label ?? `${run.config.loss_type} lr ${run.config.learning_rate}`, points: run.curve.map((c) => [c.step, grounding ? c.val.grounding_rate : c.val.accuracy] as [number, number]) };
});
const chart = grounding
  ? { title: 'GRPO from an SFT checkpoint: share of grounded readings (greedy val)', yLabel: 'val grounding', yMin: 0.6, yMax: 1 }
  : { title: 'GRPO from an SFT checkpoint: greedy val accuracy', yLabel: 'val accuracy', yMin: 0, yMax: 0.6 };
writeFileSync(out, lineChartSvg({ ...chart, xLabel: 'GRPO step', series }));
console.log(`wrote ${out}`);
