// Can the policy learn a word it must compute rather than copy? Trains a fresh small policy on
// one family's text tasks alone (gold chains, batch 8, one thread) and every 25 steps prints
// the loss (nats) on the word after "moves" in 24 val chains: the direction an object moved,
// which depends on the cells read before it and appears in the prompt only as an option.
// Chance is about ln 5 = 1.61. Isolates "does it learn this at all" from the mixed SFT, where
// each family gets a seventh of the data.
//   npx tsx research/scripts/computed-word.ts [STEPS=125] [LR=2e-3] ['{"copy_head":false,"induction_keys":false,"prev_tokens":14}'] [POINTER_LOSS_WEIGHT=0.5] [VOCAB_LOSS_WEIGHT=0]
// (the third is an override of the small policy's config)
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/main/model/backend';
import { createPolicy } from '../../src/main/model/policy';
import { presetConfig } from '../../src/main/model/config';
import { benchmarkPolicyData, benchmarkTokenizer, taskPrompt, responseTokens } from '../../src/main/model/prompt';
import { collate } from '../../src/main/model/inputs';
import { sequenceLogprobs } from '../../src/main/model/forward';
import { AdamW, clippedStep, learningRateAt, policyGradients } from '../../src/main/model/optim';
import { DEFAULT_SFT_CONFIG } from '../../src/main/train/config';
import { sftLoss } from '../../src/main/train/sft';
import { sampleTasks } from '../../src/main/video/tasks';

const [stepsArg, lrArg, model, pointerArg, vocabArg] = process.argv.slice(2);
const steps = Number(stepsArg ?? 125);
const lr = Number(lrArg ?? 2e-3);
const pointerWeight = Number(pointerArg ?? DEFAULT_SFT_CONFIG.pointer_loss_weight);
const vocabWeight = Number(vocabArg ?? DEFAULT_SFT_CONFIG.vocab_loss_weight);
const family = 'direction';
await initBackend();
const tokenizer = benchmarkTokenizer();
const policy = createPolicy(presetConfig('small', benchmarkPolicyData(tokenizer), model ? JSON.parse(model) : {}), 0);
const optimizer = new AdamW(policy, { weight_decay: DEFAULT_SFT_CONFIG.weight_decay });
const val = sampleTasks({ n: 24, seed: 99, split: 'val', modality: 'text', family });
const valResp = val.map((t) => responseTokens(t.cot.gold, tokenizer));
const valBatch = collate(policy, val.map((t) => taskPrompt(t, tokenizer)), valResp);

function probe(): string {
  const lp = tf.tidy(() => sequenceLogprobs(policy, valBatch).logprobs.arraySync());
  const nll: number[] = [];
  valResp.forEach((r, b) => {
    const words = r.map((id) => tokenizer.decode([id]).trim());
    words.forEach((_, j) => { if (words[j - 1] === 'moves') nll.push(-lp[b]![j]!); });
  });
  const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
  return `direction word ${mean.toFixed(3)} nats, p > 0.5 in ${((nll.filter((x) => x < Math.log(2)).length / nll.length) * 100).toFixed(0)} % (n ${nll.length})`;
}

const started = performance.now();
for (let step = 0; step < steps; step++) {
  const tasks = sampleTasks({ n: 8, seed: 1000 + step, split: 'train', modality: 'text', family, difficulty: 1 + (step % 3) });
  const batch = collate(policy, tasks.map((t) => taskPrompt(t, tokenizer)), tasks.map((t) => responseTokens(t.cot.gold, tokenizer)));
  const { loss, grads } = policyGradients(policy, () => sftLoss(policy, batch, pointerWeight, vocabWeight));
  const at = learningRateAt(step, { lr, warmup: DEFAULT_SFT_CONFIG.warmup_steps, total: steps, min_ratio: DEFAULT_SFT_CONFIG.min_lr_ratio });
  clippedStep(optimizer, grads, loss, { maxGradNorm: DEFAULT_SFT_CONFIG.max_grad_norm, lr: at, stage: 'sft', step });
  if ((step + 1) % 25 === 0) console.log(`step ${step + 1}  loss ${loss.toFixed(3)}  ${probe()}  ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
optimizer.dispose();
