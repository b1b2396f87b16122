// Cold-start SFT ("reasoning activation"): next-token cross-entropy on the response tokens
// only, over a configurable mix of the benchmark's gold, direct-answer and reflective
// (self-correcting) chains, so the policy learns the <think>…</think><answer>…</answer>
// format and a first grounded way of reasoning before RL. AdamW, linear warmup then
// cosine decay, global-norm clipping. Each batch holds one modality so prompts of very
// different lengths (scene text vs frames) do not pad each other. With `workers` > 1 each
// batch is split across this thread and gradient peer threads (./data-parallel).
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { sampleTasks, type CotVariant, type Modality, type Task } from '../video/tasks';
import { COT_VARIANTS } from '../video/cot';
import { hashInts, mulberry32 } from '../video/prng';
import type { Policy } from '../model/policy';
import type { Tokenizer } from '../model/tokenizer';
import { responseTokens, taskPrompt } from '../model/prompt';
import { collate, type ResponseBatch } from '../model/inputs';
import { sequenceLogprobs } from '../model/forward';
import { AdamW, clippedStep, learningRateAt, policyGradients, type AdamWState } from '../model/optim';
import { emit, type TrainHooks } from '../model/worker-protocol';
import { combineShardGrads, parallelShards, releaseShard, shardRows, type RowRange, type ShardGradients } from './data-parallel';
import type { GradientPeer } from './gradient-peer';
import { releasePeers, startPeers } from './peer-pool';
import type { HealthGuard } from './health';
import type { SftConfig } from './config';




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
  if (!Number.isInteger(c.workers) || c.workers < 1) bad('workers', `must be a positive integer, got ${c.workers}`);
  if (!(c.pointer_loss_weight >= 0)) bad('pointer_loss_weight', `must be a number >= 0, got ${c.pointer_loss_weight}`);
  if (!(c.vocab_loss_weight >= 0)) bad('vocab_loss_weight', `must be a number >= 0, got ${c.vocab_loss_weight}`);
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

/**
 * The training batch of a step: deterministic in (config.seed, step). `rows` builds only
 * those rows of it (padded among themselves), so threads sharing a step agree on every row.
 */
export function sftBatch(policy: Policy, tokenizer: Tokenizer, c: SftConfig, step: number, rows?: RowRange): SftBatch {
  const { start, end } = rows ?? { start: 0, end: c.batch_size };
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > c.batch_size) {
    throw new Error(`sft: rows [${start}, ${end}) are not a non-empty range of the batch of ${c.batch_size}`);
  }
  const modality = c.modalities[step % c.modalities.length]!;
  const difficulty = c.difficulties[Math.floor(step / c.modalities.length) % c.difficulties.length]!;
  const tasks = sampleTasks({ n: end, from: start, seed: hashInts(c.seed, step), split: 'train', modality, difficulty });
  // Draw every row's variant so row i gets the same draw whichever slice is built.
  const rng = mulberry32(hashInts(c.seed, step, 0x5f7));
  const variants = Array.from({ length: c.batch_size }, () => pickVariant(c.mix, rng())).slice(start, end);
  const batch = collate(
    policy,
    tasks.map((t) => taskPrompt(t, tokenizer)),
    tasks.map((t, i) => responseTokens(t.cot[variants[i]!], tokenizer)),
  );
  return { tasks, variants, batch };
}

export function responseTokenCount(batch: ResponseBatch): number {
  return batch.responseMask.reduce((s, m) => s + m, 0);
}

/**
 * Summed negative log-likelihood of the response tokens, plus pointerWeight times the copy
 * pointer's own and vocabWeight times the vocabulary head's own (see SftConfig): shards'
 * sums add up to the batch's.
 */
export function sftLossSum(policy: Policy, batch: ResponseBatch, pointerWeight = 0, vocabWeight = 0): tf.Scalar {
  return tf.tidy(() => {
    const { logprobs, pointer, vocab } = sequenceLogprobs(policy, batch, { pointer: pointerWeight > 0, vocab: vocabWeight > 0 });
    let nll: tf.Tensor = tf.neg(tf.sum(logprobs));
    if (pointer) nll = tf.sub(nll, tf.mul(pointerWeight, tf.sum(pointer.logprobs)));
    if (vocab) nll = tf.sub(nll, tf.mul(vocabWeight, tf.sum(vocab)));
    return nll as tf.Scalar;
  });
}

/** sftLossSum per response token (prompt tokens carry no loss). */
export function sftLoss(policy: Policy, batch: ResponseBatch, pointerWeight = 0, vocabWeight = 0): tf.Scalar {
  return tf.tidy(() => tf.div(sftLossSum(policy, batch, pointerWeight, vocabWeight), Math.max(responseTokenCount(batch), 1)) as tf.Scalar);
}

/** Gradient of the summed loss over some rows of a step's batch (what each thread computes). */
export function sftShardGradients(policy: Policy, tokenizer: Tokenizer, c: SftConfig, step: number, rows: RowRange): ShardGradients {
  const { batch } = sftBatch(policy, tokenizer, c, step, rows);
  const { loss, grads } = policyGradients(policy, () => sftLossSum(policy, batch, c.pointer_loss_weight, c.vocab_loss_weight));
  return { grads, lossSum: loss, tokens: responseTokenCount(batch) };
}

/**
 * Mean loss and its gradient over the whole batch of a step, split between this thread
 * (first rows) and the peers (one slice each), all computing at once.
 */
export async function sftDataParallelGradients(
  peers: readonly GradientPeer[],
  policy: Policy,
  tokenizer: Tokenizer,
  c: SftConfig,
  step: number,
): Promise<{ loss: number; grads: Map<string, tf.Tensor>; tokens: number }> {
  const [own, ...rest] = shardRows(c.batch_size, peers.length + 1);
  const shards = await parallelShards(
    peers,
    policy,
    rest.map((rows) => ({ step, rows })),
    (peer, shard) => peer.shardGrads(policy, shard),
    () => sftShardGradients(policy, tokenizer, c, step, own!),
    releaseShard,
  );
  return combineShardGrads(policy, shards);
}

export interface SftResult {
  /** Steps of the stage done, counting those before a resume. */
  steps: number;
  /** The step this call started at (0, or where an in-stage checkpoint left off). */
  resumed_from: number;
  /** Losses of the steps this call ran. */
  losses: number[];
  response_tokens: number;
  wall_s: number;
  stopped: boolean;
}

/** Where SFT is inside its stage: enough to continue it exactly (batches are a function of the step). */
export interface SftProgress {
  step: number;
  optimizer: AdamWState;
}

export interface SftHooks extends TrainHooks {
  /** Checked after every optimizer step; throws to stop a diverged stage. */
  health?: HealthGuard;
  /** Every `every` steps, `save` persists the progress (weights are the policy's own). */
  checkpoints?: { every: number; save: (progress: SftProgress) => void };
  /** Continue from saved progress; the policy already holds that checkpoint's weights. */
  resume?: SftProgress;
}

export async function runSft(policy: Policy, tokenizer: Tokenizer, config: SftConfig, hooks: SftHooks = {}): Promise<SftResult> {
  validateSftConfig(config);
  const firstStep = hooks.resume?.step ?? 0;
  if (!Number.isInteger(firstStep) || firstStep < 0 || firstStep > config.steps) throw new Error(`sft: cannot resume at step ${firstStep} of ${config.steps}`);
  const optimizer = new AdamW(policy, { weight_decay: config.weight_decay });
  if (hooks.resume) optimizer.importState(hooks.resume.optimizer);
  const losses: number[] = [];
  let tokens = 0;
  let stopped = false;
  const started = performance.now();
  const peers: GradientPeer[] = [];
  try {
    // No more threads than rows: a peer with no rows would only copy weights.
    const threads = Math.min(config.workers, config.batch_size);
    peers.push(...(await startPeers(threads, config.steps - firstStep, policy, tokenizer, { kind: 'sft', sft: config })));
    if (peers.length > 0) emit(hooks, { type: 'log', level: 'info', message: `sft: each batch split across ${threads} threads (peers: ${peers[0]!.backend})` });
    for (let step = firstStep; step < config.steps; step++) {
      // Yield to the event loop so a worker can receive `stop` between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (hooks.shouldStop?.()) {
        stopped = true;
        // Keep the steps since the last save: a resumed stage continues from here.
        if (hooks.checkpoints && step > firstStep && step % hooks.checkpoints.every !== 0) hooks.checkpoints.save({ step, optimizer: optimizer.exportState() });
        break;
      }
      let loss: number;
      let grads: Map<string, tf.Tensor>;
      if (peers.length > 0) {
        let batchTokens: number;
        ({ loss, grads, tokens: batchTokens } = await sftDataParallelGradients(peers, policy, tokenizer, config, step));
        tokens += batchTokens;
      } else {
        const { batch } = sftBatch(policy, tokenizer, config, step);
        ({ loss, grads } = policyGradients(policy, () => sftLoss(policy, batch, config.pointer_loss_weight, config.vocab_loss_weight)));
        tokens += responseTokenCount(batch);
      }
      const lr = learningRateAt(step, { lr: config.learning_rate, warmup: config.warmup_steps, total: config.steps, min_ratio: config.min_lr_ratio });
      const gradNorm = clippedStep(optimizer, grads, loss, { maxGradNorm: config.max_grad_norm, lr, stage: 'sft', step });
      losses.push(loss);
      emit(hooks, { type: 'metric', stage: 'sft', step, name: 'loss', value: loss });
      emit(hooks, { type: 'metric', stage: 'sft', step, name: 'grad_norm', value: gradNorm });
      emit(hooks, { type: 'metric', stage: 'sft', step, name: 'learning_rate', value: lr });
      hooks.health?.check({ step, loss, gradNorm });
      emit(hooks, { type: 'progress', stage: 'sft', step: step + 1, total: config.steps });
      const every = hooks.checkpoints?.every ?? 0;
      if (every > 0 && (step + 1) % every === 0 && step + 1 < config.steps) hooks.checkpoints!.save({ step: step + 1, optimizer: optimizer.exportState() });
    }
  } finally {
    optimizer.dispose();
    await releasePeers(peers);
  }
  return { steps: firstStep + losses.length, resumed_from: firstStep, losses, response_tokens: tokens, wall_s: (performance.now() - started) / 1000, stopped };
}
