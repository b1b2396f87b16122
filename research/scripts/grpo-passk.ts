// What GRPO has to work with, per family: greedy val accuracy next to the accuracy of k
// samples at temperature T, pass@k, and the share of tasks greedy gets wrong but some sample
// gets right (what sharpening the policy could win at most). Val tasks and the 128-token
// limit are grpo-run.ts's.
//   npx tsx research/scripts/grpo-passk.ts CHECKPOINT_DIR [K=8] [T=0.6] [PER_MODALITY=140]
import { initBackend } from '../../src/main/model/backend';
import { loadCheckpoint } from '../../src/main/model/checkpoint';
import { DEFAULT_EVAL_CONFIG, evalTasks, evaluatePolicy } from '../../src/main/train/eval';
import { sampledAccuracy } from '../lib/stats';
import { GrpoConfigSchema } from '../../src/main/train/config';

await initBackend();
const [ckpt, kArg, tArg, nArg] = process.argv.slice(2);
if (!ckpt) {
  console.error('usage: npx tsx research/scripts/grpo-passk.ts CHECKPOINT_DIR [K=8] [T=0.6] [PER_MODALITY=140]');
  process.exit(2);
}
const k = Number(kArg ?? 8);
const temperature = Number(tArg ?? 0.6);
const { max_completion_length } = GrpoConfigSchema.parse({});
const { policy, tokenizer } = loadCheckpoint(ckpt);
const tasks = evalTasks({ ...DEFAULT_EVAL_CONFIG, n: Number(nArg ?? 140) });
const greedy = evaluatePolicy(policy, tokenizer, tasks, { max_completion_length }).samples.map((s) => s.accuracy);
// The same samples grpo-run.ts --val-samples scores (sample s at seed 200 + s).
const onSample = (done: number) => process.stderr.write(`\rsample ${done}/${k}${done === k ? '\n' : ''}`);
const sampled = sampledAccuracy(policy, tokenizer, tasks, { k, temperature, max_completion_length, onSample }).runs.map((r) => r.samples.map((x) => x.accuracy));
const right = (x: number) => x >= 0.5;
const row = (name: string, idx: number[]) => {
  const mean = (f: (i: number) => number) => idx.reduce((a, i) => a + f(i), 0) / idx.length;
  const cols = [
    mean((i) => greedy[i]!),
    mean((i) => sampled.reduce((a, r) => a + r[i]!, 0) / k),
    mean((i) => (sampled.some((r) => right(r[i]!)) ? 1 : 0)),
    mean((i) => (!right(greedy[i]!) && sampled.some((r) => right(r[i]!)) ? 1 : 0)),
  ];
  console.log(`| ${name} | ${idx.length} | ${cols.map((c) => c.toFixed(3)).join(' | ')} |`);
};
console.log(`| family | tasks | greedy | sampled (T = ${temperature}) | pass@${k} | greedy wrong, a sample right |`);
console.log('|---|---|---|---|---|---|');
for (const family of [...new Set(tasks.map((t) => t.family))].sort()) row(family, tasks.flatMap((t, i) => (t.family === family ? [i] : [])));
row('all', tasks.map((_, i) => i));
