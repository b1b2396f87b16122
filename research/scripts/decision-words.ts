// Teacher-forced probability of the words a gold chain decides, on the 210 val tasks `veripo
// sft` evaluates on, by kind: cells read off a frame or the scene text, comparisons ("2 is
// [less] than 7"), the direction verdict and word, the frame an object first shows in, the
// edge it enters by, the option letter, … A chain passes 5-10 such words, so greedy accuracy
// is near their product; this shows which one a recipe fails at long before accuracy does.
//   npx tsx research/scripts/decision-words.ts CHECKPOINT_DIR [--vocab]   (--vocab: the vocabulary head alone)
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/main/model/backend';
import { loadCheckpoint } from '../../src/main/model/checkpoint';
import { taskPrompt, responseTokens } from '../../src/main/model/prompt';
import { collate } from '../../src/main/model/inputs';
import { sequenceLogprobs } from '../../src/main/model/forward';
import { DEFAULT_EVAL_CONFIG, evalTasks } from '../../src/main/train/eval';
import { DIRECTIONS, SHAPES } from '../../src/main/video/scene';

const [dir, flag] = process.argv.slice(2);
if (!dir) throw new Error('usage: npx tsx research/scripts/decision-words.ts CHECKPOINT_DIR [--vocab]');
const vocabOnly = flag === '--vocab';
await initBackend();
const { policy, tokenizer } = loadCheckpoint(dir);
const tasks = evalTasks(DEFAULT_EVAL_CONFIG);
const shapes = new Set<string>(SHAPES);
const directions = new Set<string>(DIRECTIONS);

/** The kind of decision word w[j] is in a gold chain of `family`, or null. */
function kindOf(w: string[], j: number, family: string, modality: string): string | null {
  const [x, prev, prev2] = [w[j]!, w[j - 1], w[j - 2]];
  if (prev === 'at' || prev2 === 'at') return `cell (${modality})`;
  if (prev === 'frame') return family === 'entry_side' || family === 'order' ? `frame number (${family})` : null;
  if (prev === 'is' && /^(less|more|equal)$/.test(x)) return 'comparison';
  if (prev === 'is' && /^[A-E]$/.test(x)) return 'option letter';
  if (family === 'direction' && (x === 'moves' || x === 'does') && shapes.has(prev ?? '')) return 'direction verdict (moves / does not)';
  if (prev === 'moves' && directions.has(x)) return `first move word (${family})`;
  if (family === 'entry_side' && (x === 'at' || x === 'is') && w[j - 3] === ':') return 'entry: shows in this frame?';
  if (prev === 'the' && prev2 === 'on') return 'entry edge';
  if (family === 'rotation' && shapes.has(prev ?? '') && /^(keeps|turns|never)$/.test(x)) return 'rotation kind';
  return null;
}

const byKind = new Map<string, number[]>();
for (let i0 = 0; i0 < tasks.length; i0 += 10) {
  const batchTasks = tasks.slice(i0, i0 + 10);
  const responses = batchTasks.map((t) => responseTokens(t.cot.gold, tokenizer));
  const lp = tf.tidy(() => {
    const r = sequenceLogprobs(policy, collate(policy, batchTasks.map((t) => taskPrompt(t, tokenizer)), responses), { vocab: vocabOnly });
    return ((vocabOnly ? r.vocab! : r.logprobs) as tf.Tensor2D).arraySync();
  });
  responses.forEach((ids, b) => {
    const w = ids.map((id) => tokenizer.decode([id]).trim());
    const t = batchTasks[b]!;
    w.forEach((_, j) => {
      const kind = kindOf(w, j, t.family, t.modality);
      if (kind) byKind.set(kind, [...(byKind.get(kind) ?? []), Math.exp(lp[b]![j]!)]);
    });
  });
}
console.log(`${vocabOnly ? 'vocabulary head' : 'policy'} p(gold word), ${tasks.length} val chains of ${dir}`);
for (const [kind, ps] of [...byKind].sort(([a], [b]) => a.localeCompare(b))) {
  const mean = ps.reduce((a, b) => a + b, 0) / ps.length;
  console.log(`${kind.padEnd(40)} n ${String(ps.length).padStart(4)}  mean p ${mean.toFixed(2)}  p > 0.5 on ${((100 * ps.filter((p) => p > 0.5).length) / ps.length).toFixed(0)} %`);
}
