// Greedy eval of a checkpoint on the default val split (the 210 tasks `veripo sft` reports).
//   npx tsx research/scripts/eval-checkpoint.ts CHECKPOINT_DIR
import { initBackend } from '../../src/main/model/backend';
import { loadCheckpoint } from '../../src/main/model/checkpoint';
import { DEFAULT_EVAL_CONFIG, evaluate } from '../../src/main/train/eval';
await initBackend();
const { policy, tokenizer } = loadCheckpoint(process.argv[2]!);
const r = await evaluate(policy, tokenizer, DEFAULT_EVAL_CONFIG);
const pct = (x: number) => (100 * x).toFixed(1);
console.log(`n ${r.n} acc ${pct(r.accuracy)} format ${pct(r.format_rate)} inconsistency ${pct(r.inconsistency_rate)} (of ${r.inconsistency_base}) grounding ${pct(r.grounding_rate)} (of ${r.claims} claims) len ${r.mean_length.toFixed(1)}`);
for (const groups of [r.groups.family, r.groups.modality]) {
  for (const [k, g] of Object.entries(groups)) console.log(`  ${k} ${pct(g.accuracy)} (n=${g.n})`);
}
for (const s of r.samples.slice(0, Number(process.argv[3] ?? 0))) console.log(JSON.stringify(s).slice(0, 600));
