// How a checkpoint's greedy answers on one task family are distributed, next to the gold
// answers, and how they relate to what its chain read: for each checkpoint, the gold × answer
// counts, and per answer the mean number of objects the chain read as visible and the share
// of those readings the fact log supports. Written to see where GRPO's loss on count_visible
// comes from (the answers move toward the commonest one while the chains stay consistent).
// Val tasks and the 128-token limit are grpo-run.ts's.
//   npx tsx research/scripts/answer-shift.ts FAMILY CHECKPOINT_DIR [CHECKPOINT_DIR…]
import { initBackend } from '../../src/main/model/backend';
import { loadCheckpoint } from '../../src/main/model/checkpoint';
import { answerSpec, DEFAULT_EVAL_CONFIG, evalTasks, evaluatePolicy } from '../../src/main/train/eval';
import { GrpoConfigSchema } from '../../src/main/train/config';
import { completionAnswer } from '../../src/main/answers/read';
import { extractThink } from '../../src/main/answers/tags';
import { parseClaims, scoreGrounding } from '../../src/main/video/claims';
import { FAMILIES } from '../../src/main/video/tasks';

const [family, ...checkpoints] = process.argv.slice(2);
if (!family || !checkpoints.length) {
  console.error('usage: npx tsx research/scripts/answer-shift.ts FAMILY CHECKPOINT_DIR [CHECKPOINT_DIR…]');
  process.exit(2);
}
if (!FAMILIES.includes(family)) {
  console.error(`answer-shift: unknown family ${family} (one of ${FAMILIES.join(', ')})`);
  process.exit(2);
}
await initBackend();
const tasks = evalTasks({ ...DEFAULT_EVAL_CONFIG, n: 140 }).filter((t) => t.family === family);
const { max_completion_length } = GrpoConfigSchema.parse({});
const golds = [...new Set(tasks.map((t) => t.answer))].sort();

for (const dir of checkpoints) {
  const { policy, tokenizer } = loadCheckpoint(dir);
  const { samples } = evaluatePolicy(policy, tokenizer, tasks, { max_completion_length });
  const rows = samples.map((s, i) => {
    const task = tasks[i]!;
    const think = extractThink(s.completion) ?? s.completion;
    return {
      gold: task.answer,
      answer: completionAnswer(s.completion, answerSpec(task)) ?? '(none)',
      accuracy: s.accuracy,
      visible: parseClaims(think).filter((c) => c.at !== null && !c.retracted).length,
      grounding: scoreGrounding(think, task.facts).rate,
    };
  });
  const answers = [...new Set(rows.map((r) => r.answer))].sort();
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  console.log(`\n${dir}: ${family}, ${rows.length} val tasks, greedy accuracy ${mean(rows.map((r) => r.accuracy)).toFixed(3)}\n`);
  console.log(`| gold \\ answer | ${answers.join(' | ')} | gold total |`);
  console.log(`|---|${answers.map(() => '---|').join('')}---|`);
  for (const g of golds) {
    const of = rows.filter((r) => r.gold === g);
    console.log(`| ${g} | ${answers.map((a) => of.filter((r) => r.answer === a).length).join(' | ')} | ${of.length} |`);
  }
  console.log(`| answer total | ${answers.map((a) => rows.filter((r) => r.answer === a).length).join(' | ')} | ${rows.length} |`);
  console.log(`| objects read as visible (mean) | ${answers.map((a) => mean(rows.filter((r) => r.answer === a).map((r) => r.visible)).toFixed(2)).join(' | ')} | ${mean(rows.map((r) => r.visible)).toFixed(2)} |`);
  console.log(`| readings grounded (mean) | ${answers.map((a) => mean(rows.filter((r) => r.answer === a).map((r) => r.grounding)).toFixed(2)).join(' | ')} | ${mean(rows.map((r) => r.grounding)).toFixed(2)} |`);
}
