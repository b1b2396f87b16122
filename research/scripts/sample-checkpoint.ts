// Rollouts of a checkpoint as the smoke run's GRPO stage draws them: its 32 easy video training
// tasks (seed 0), 4 samples each at temperature 1, then greedy once each.
//   npx tsx research/scripts/sample-checkpoint.ts CHECKPOINT_DIR [MAX_NEW_TOKENS=128]
import { initBackend } from '../../src/main/model/backend';
import { loadCheckpoint } from '../../src/main/model/checkpoint';
import { evaluatePolicy } from '../../src/main/train/eval';
import { sampleTasks, scoreGrounding } from '../../src/main/video';

await initBackend();
const { policy, tokenizer } = loadCheckpoint(process.argv[2]!);
const maxTokens = Number(process.argv[3] ?? 128);
const tasks = sampleTasks({ n: 32, seed: 0, split: 'train', modality: 'video', difficulty: 1 });
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
for (const [temperature, set] of [[1, tasks.flatMap((t) => [t, t, t, t])], [0, tasks]] as const) {
  const r = evaluatePolicy(policy, tokenizer, set, { temperature, max_completion_length: maxTokens, seed: 1 });
  let allRight = 0;
  let withReadings = 0;
  r.samples.forEach((s, i) => {
    const g = scoreGrounding(s.completion, set[i]!.facts);
    if (g.total === 0) return;
    withReadings++;
    if (g.grounded === g.total) allRight++;
  });
  console.log(
    `temperature ${temperature}: n ${r.n}, accuracy ${pct(r.accuracy)}, well-formed ${pct(r.format_rate)}, readings supported ${pct(r.grounding_rate)}, ` +
      `every reading right ${allRight} of ${withReadings}, inconsistency ${pct(r.inconsistency_rate)}, mean ${r.mean_length.toFixed(1)} tokens, truncated ${pct(r.truncated_rate)}`,
  );
}
