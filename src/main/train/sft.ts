// Cold-start SFT ("reasoning activation"): next-token cross-entropy on the response tokens
// only, over a configurable mix of the benchmark's gold, direct-answer and reflective
// (self-correcting) chains, so the policy learns the <think>…</think><answer>…</answer>
// format and a first grounded way of reasoning before RL. AdamW, linear warmup then
// cosine decay, global-norm clipping. Each batch holds one modality so prompts of very
// different lengths (scene text vs frames) do not pad each other.
import * as tf from '@tensorflow/tfjs-core';
import { sampleTasks, type CotVariant, type Modality, type Task } from '../video/tasks';
import { COT_VARIANTS } from '../video/cot';
import { hashInts, mulberry32 } from '../video/prng';
import type { Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import { responseTokens, taskPrompt } from '../model/prompt';
import { collate, sequenceLogprobs, type ResponseBatch } from '../model/sample';
import { AdamW, clippedStep, learningRateAt, policyGradients } from '../model/optim';
import { emit, type TrainHooks } from '../model/worker-protocol';

export interface SftConfig {
  learning_rate: number;
  steps: number;
  batch_size: number;
  warmup_steps: number;
  /** Final learning rate as a fraction of learning_rate. */
  min_lr_ratio: number;
  weight_decay: number;
  max_grad_norm: number;
  /** Relative weights of CoT variants used as targets (normalised; missing = 0). */
  mix: Partial<Record<CotVariant, number>>;
  /** Modalities cycled batch by batch (repeat one to weight it). */
  modalities: Modality[];
  /** Difficulties cycled over batches. */
  difficulties: number[];
  seed: number;
}

// The recipe measured for the small preset: 220 steps of batch 8 at 6e-3 run in about
// 8 minutes on one wasm thread (see `veripo sft`); larger batches learned less per minute.
export const DEFAULT_SFT_CONFIG: SftConfig = {
  learning_rate: 6e-3,
  steps: 220,
  batch_size: 8,
  warmup_steps: 20,
  min_lr_ratio: 0.1,
  weight_decay: 0.01,
  max_grad_norm: 1,
  mix: { gold: 0.7, direct: 0.1, reflective: 0.2 },
  modalities: ['text', 'image', 'video'],
  difficulties: [1, 2, 3],
  seed: 0,
};

export function validateSftConfig(c: SftConfig): void {
  const bad = (field: string, why: string) => {
    throw new Error(`sft config: sft.${field} ${why}`);
  };
  if (!(c.learning_rate > 0)) bad('learning_rate', `must be > 0, got ${c.learning_rate}`);
  for (const k of ['steps', 'batch_size'] as const) if (!Number.isInteger(c[k]) || c[k] < 1) bad(k, `must be a positive integer, got ${c[k]}`);
  if (!Number.isInteger(c.warmup_steps) || c.warmup_steps < 0) bad('warmup_steps', `must be an integer >= 0, got ${c.warmup_steps}`);
  for (const [k, w] of Object.entries(c.mix)) {
    if (!COT_VARIANTS.includes(k as CotVariant)) bad(`mix.${k}`, `is not a CoT variant (${COT_VARIANTS.join(', ')})`);
    if (!(typeof w === 'number' && w >= 0)) bad(`mix.${k}`, `must be a number >= 0, got ${w}`);
  }
  if (!Object.values(c.mix).some((w) => (w ?? 0) > 0)) bad('mix', 'needs at least one positive weight');
  if (c.modalities.length === 0) bad('modalities', 'must not be empty');
  if (c.difficulties.length === 0) bad('difficulties', 'must not be empty');
}

/** Draw a variant with probability proportional to its mix weight. */
export function pickVariant(mix: Partial<Record<CotVariant, number>>, u: number): CotVariant {
  const entries = Object.entries(mix).filter(([, w]) => (w ?? 0) > 0) as [CotVariant, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  for (const [v, w] of entries) {
    acc += w / total;
    if (u < acc) return v;
  }
  return entries[entries.length - 1]![0];
}

export interface SftBatch {
  tasks: Task[];
  variants: CotVariant[];
  batch: ResponseBatch;
}

/** The training batch of a step: deterministic in (config.seed, step). */
export function sftBatch(policy: Policy, tokenizer: Tokenizer, c: SftConfig, step: number): SftBatch {
  const modality = c.modalities[step % c.modalities.length]!;
  const difficulty = c.difficulties[Math.floor(step / c.modalities.length) % c.difficulties.length]!;
  const tasks = sampleTasks({ n: c.batch_size, seed: hashInts(c.seed, step), split: 'train', modality, difficulty });
  const rng = mulberry32(hashInts(c.seed, step, 0x5f7));
  const variants = tasks.map(() => pickVariant(c.mix, rng()));
  const batch = collate(
    policy,
    tasks.map((t) => taskPrompt(t, tokenizer)),
    tasks.map((t, i) => responseTokens(t.cot[variants[i]!], tokenizer)),
  );
  return { tasks, variants, batch };
}

/** Mean negative log-likelihood of the response tokens (prompt tokens carry no loss). */
export function sftLoss(policy: Policy, batch: ResponseBatch): tf.Scalar {
  return tf.tidy(() => {
    const { logprobs, mask } = sequenceLogprobs(policy, batch);
    return tf.div(tf.neg(tf.sum(logprobs)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

export interface SftResult {
  steps: number;
  losses: number[];
  response_tokens: number;
  wall_s: number;
  stopped: boolean;
}

export async function runSft(policy: Policy, tokenizer: Tokenizer, config: SftConfig, hooks: TrainHooks = {}): Promise<SftResult> {
  validateSftConfig(config);
  const optimizer = new AdamW(policy, { weight_decay: config.weight_decay });
  const losses: number[] = [];
  let tokens = 0;
  let stopped = false;
  const started = performance.now();
  try {
    for (let step = 0; step < config.steps; step++) {
      // Yield to the event loop so a worker can receive `stop` between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      const { batch } = sftBatch(policy, tokenizer, config, step);
      const { loss, grads } = policyGradients(policy, () => sftLoss(policy, batch));
      const lr = learningRateAt(step, { lr: config.learning_rate, warmup: config.warmup_steps, total: config.steps, min_ratio: config.min_lr_ratio });
      const gradNorm = clippedStep(optimizer, grads, loss, { maxGradNorm: config.max_grad_norm, lr, stage: 'sft', step });
      losses.push(loss);
      tokens += batch.responseMask.reduce((s, m) => s + m, 0);
      emit(hooks, { type: 'metric', stage: 'sft', step, name: 'loss', value: loss });
      emit(hooks, { type: 'metric', stage: 'sft', step, name: 'grad_norm', value: gradNorm });
      emit(hooks, { type: 'metric', stage: 'sft', step, name: 'learning_rate', value: lr });
      emit(hooks, { type: 'progress', stage: 'sft', step: step + 1, total: config.steps });
    }
  } finally {
    optimizer.dispose();
  }
  return { steps: losses.length, losses, response_tokens: tokens, wall_s: (performance.now() - started) / 1000, stopped };
}
