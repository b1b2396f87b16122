// SFT with a probe every 50 steps: mean loss (nats) on the name tokens (colour, shape) and on
// the cell coordinates (x, y after "at") and on the option letter after its restated words
// ("below and left is [E]") of gold chains for 16 val tasks per modality. Accuracy
// stays at chance until these fall below chance (ln 5 / ln 4 for names, ln 8 = 2.08 for x, y), so
// they show when a recipe leaves the template plateau long before accuracy does.
//   npx tsx research/scripts/sft-content-loss.ts STEPS BATCH LR OUT_DIR ['{"workers":1}'] ['{"prev_tokens":0}']
// (the last two are overrides of the SFT config and of the small policy's config)
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/main/model/backend';
import { createPolicy } from '../../src/main/model/policy';
import { presetConfig } from '../../src/main/model/config';
import { benchmarkPolicyData, benchmarkTokenizer, taskPrompt, responseTokens } from '../../src/main/model/prompt';
import { collate } from '../../src/main/model/inputs';
import { sequenceLogprobs } from '../../src/main/model/forward';
import { saveCheckpoint } from '../../src/main/model/checkpoint';
import { DEFAULT_SFT_CONFIG } from '../../src/main/train/config';
import { runSft } from '../../src/main/train/sft';
import { sampleTasks, type Modality } from '../../src/main/video/tasks';
const [steps, batch, lr, out, extra, model] = process.argv.slice(2);
await initBackend();
const tokenizer = benchmarkTokenizer();
const policy = createPolicy(presetConfig('small', benchmarkPolicyData(tokenizer), model ? JSON.parse(model) : {}), 0);
const probes = (['text', 'video', 'image'] as Modality[]).map((m) => {
  const tasks = sampleTasks({ n: 16, seed: 9, split: 'val', modality: m, difficulty: 2 });
  const resp = tasks.map((t) => responseTokens(t.cot.gold, tokenizer));
  return { m, resp, batch: collate(policy, tasks.map((t) => taskPrompt(t, tokenizer)), resp) };
});
function content(): string {
  return probes.map(({ m, resp, batch }) => {
    const lp = tf.tidy(() => sequenceLogprobs(policy, batch).logprobs.arraySync());
    const acc: Record<string, number[]> = { name: [], xy: [], letter: [] };
    resp.forEach((r, i) => { const w = r.map((id) => tokenizer.decode([id]).trim()); w.forEach((x, j) => {
      if (['red', 'green', 'blue', 'yellow', 'purple', 'circle', 'square', 'triangle', 'cross'].includes(x)) acc.name!.push(-lp[i]![j]!);
      else if (/^\d$/.test(x) && (w[j - 1] === 'at' || w[j - 2] === 'at')) acc.xy!.push(-lp[i]![j]!);
      // The letter that maps the option's words; the one after "so the answer is" only repeats it.
      else if (/^[A-E]$/.test(x) && w[j - 1] === 'is' && w[j - 2] !== 'answer') acc.letter!.push(-lp[i]![j]!);
    }); });
    const mean = (a: number[]) => (a.reduce((s, v) => s + v, 0) / a.length).toFixed(2);
    return `${m} name ${mean(acc.name!)} xy ${mean(acc.xy!)} letter ${mean(acc.letter!)}`;
  }).join(' | ');
}
const t0 = performance.now();
const cfg = { ...DEFAULT_SFT_CONFIG, steps: +steps!, batch_size: +batch!, learning_rate: +lr!, ...(extra ? JSON.parse(extra) : {}) };
console.log(JSON.stringify(cfg));
await runSft(policy, tokenizer, cfg, { onEvent: (e) => {
  if (e.type === 'progress' && e.step % 50 === 0) console.log(e.step, ((performance.now() - t0) / 1000).toFixed(0) + 's', content());
} });
saveCheckpoint(out!, policy, tokenizer, {});
