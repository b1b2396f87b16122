// Weight interpolation between a checkpoint and one trained from it (WiSE-FT; WARP's
// interpolation towards the init): theta = (1 - a) * BASE + a * END, evaluated for each a on
// grpo-run.ts's val tasks at its 128-token limit, greedy and sampled, with the paired change
// from BASE. Why: if the update's gain on val is first order in a and what it breaks is
// second order, a fraction of the update keeps more of the gain than it costs.
// END_DIR may be several checkpoints trained from BASE joined by '+' (DIR1+DIR2+…): END is then
// their mean (WARP's averaging of independently rewarded policies: the runs' noise is
// independent and averages down by 1/sqrt(M), what they share stays).
//   npx tsx research/scripts/interpolate.ts BASE_DIR END_DIR[+END_DIR…] 0.25,0.5,1 [K=4] [T=0.6] [PER_MODALITY=140] [BASELINE_FILE]
// BASELINE_FILE is a grpo-run.ts --baseline file: BASE's eval is read from it when it matches.
import * as tf from '@tensorflow/tfjs-core';
import { baselineReport, changeByFamily, formatByFamily, formatChange as fmt, pairedChange, valReport } from '../lib/stats';
import { initBackend } from '../../src/main/model/backend';
import { clonePolicy, loadCheckpoint } from '../../src/main/model/checkpoint';
import { mergePolicies } from '../lib/merge';
import { DEFAULT_EVAL_CONFIG, evalTasks } from '../../src/main/train/eval';
import { GrpoConfigSchema } from '../../src/main/train/config';

await initBackend();
const [baseDir, endDir, alphasArg, kArg, tArg, nArg, baselineFile] = process.argv.slice(2);
if (!baseDir || !endDir || !alphasArg) {
  console.error('usage: npx tsx research/scripts/interpolate.ts BASE_DIR END_DIR[+END_DIR…] 0.25,0.5,1 [K=4] [T=0.6] [PER_MODALITY=140] [BASELINE_FILE]');
  process.exit(2);
}
const alphas = alphasArg.split(',').map(Number);
const sampling = { k: Number(kArg ?? 4), temperature: Number(tArg ?? 0.6), top_p: 1 };
const { max_completion_length } = GrpoConfigSchema.parse({});
const tasks = evalTasks({ ...DEFAULT_EVAL_CONFIG, n: Number(nArg ?? 140) });
const base = loadCheckpoint(baseDir);
const ends = endDir.split('+').map((dir) => ({ source: dir, policy: loadCheckpoint(dir).policy }));
const before = baselineReport(baselineFile, baseDir, base.policy, base.tokenizer, tasks, max_completion_length, sampling).val;
const start = { source: baseDir, policy: clonePolicy(base.policy) };
console.log(`| a | greedy val | change (paired SE) | sampled val (mean of ${sampling.k} at T = ${sampling.temperature}) | change (paired SE) | grounding |`);
console.log('|---|---|---|---|---|---|');
console.log(`| 0 | ${before.accuracy.toFixed(3)} | | ${before.sampled?.accuracy.toFixed(3) ?? ''} | | ${before.grounding_rate.toFixed(3)} |`);
const familyLine = (x: number[], y: number[]) => formatByFamily(changeByFamily(tasks, x, y));
const families: string[] = [];
for (const a of alphas) {
  const merged = mergePolicies(start, ends, a);
  for (const [name, v] of base.policy.params) v.assign(tf.tensor(merged.get(name)!, v.shape, 'float32'));
  const r = valReport(base.policy, base.tokenizer, tasks, max_completion_length, sampling);
  const sampled = r.sampled && before.sampled ? `${r.sampled.accuracy.toFixed(3)} | ${fmt(pairedChange(before.sampled.per_task, r.sampled.per_task))}` : ' | ';
  console.log(`| ${a} | ${r.accuracy.toFixed(3)} | ${fmt(pairedChange(before.per_task, r.per_task))} | ${sampled} | ${r.grounding_rate.toFixed(3)} |`);
  families.push(`a = ${a}, greedy: ${familyLine(before.per_task, r.per_task)}`);
  if (r.sampled && before.sampled) families.push(`a = ${a}, sampled: ${familyLine(before.sampled.per_task, r.sampled.per_task)}`);
}
console.log(['', 'change by family (paired SE):', ...families].join('\n'));
