// Plot val-accuracy curves of several `veripo grpo` runs on one chart: the JSON of
// `--json`, or the text it prints otherwise (one "step N ... val acc X" row per eval).
// Run: npx tsx bench/stages-grpo-curve.ts OUT.svg RUN.json=label [RUN.log=label ...]
import { readFileSync, writeFileSync } from 'node:fs';
import { lineChartSvg, type Series } from '../src/main/io/svg-chart';

interface GrpoRunJson {
  config: { loss_type: string; learning_rate: number };
  curve: { step: number; val: { accuracy: number; mean_length: number } }[];
}

const [out, ...runs] = process.argv.slice(2);
if (!out || runs.length === 0) {
  console.error('usage: npx tsx bench/stages-grpo-curve.ts OUT.svg RUN.json=label [RUN.json=label ...]');
  process.exit(2);
}
const series: Series[] = runs.map((arg) => {
  const [file, label] = arg.split('=');
  const text = readFileSync(file!, 'utf8');
  if (!text.trimStart().startsWith('{')) {
    const points = [...text.matchAll(/^step\s+(\d+)\b.*?\bval acc ([\d.]+)/gm)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    if (points.length === 0) throw new Error(`${file}: neither --json output nor "step N ... val acc X" rows`);
    return { name: label ?? file!, points };
  }
  const run = JSON.parse(text) as GrpoRunJson;
  return { name: label ?? `${run.config.loss_type} lr ${run.config.learning_rate}`, points: run.curve.map((c) => [c.step, c.val.accuracy] as [number, number]) };
});
writeFileSync(out, lineChartSvg({ title: 'GRPO from an SFT checkpoint: greedy val accuracy', xLabel: 'GRPO step', yLabel: 'val accuracy', series, yMin: 0, yMax: 0.6 }));
console.log(`wrote ${out}`);
