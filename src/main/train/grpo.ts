// GRPO, the "slow search" stage of VerIPO, with the variants it is compared against:
// TRL's loss types (grpo, bnpo, dr_grpo, dapo), clip-higher (`epsilon_high`), DAPO
// dynamic sampling, GSPO (`importance_sampling_level: 'sequence'`) and Video-R1's T-GRPO.
// The loss is a plain function over tensors (tested against hand-computed values); the
// trainer below it is one readable loop: sample a group -> reward -> advantages ->
// `num_iterations` clipped updates.

import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { OPTIMIZER_CONFIG_FIELDS, adamWFromConfig, clippedStep, learningRateAt, policyGradients } from '../model/optim';
import type { Policy, PolicyPrompt } from '../model/policy';
import { stopGradient } from '../model/policy';
import { promptText, taskPrompt } from '../model/prompt';
import { collate, generate, mulberry32, sequenceLogprobs } from '../model/sample';
import type { Tokenizer } from '../model/tokenizer';
import type { TrainEvent } from '../model/worker-protocol';
import { isGrounded, parseClaims } from '../video/claims';
import type { FactLog } from '../video/scene';
import type { Task } from '../video/tasks';
import { dynamicSamplingKeep, groupAdvantages, temporalBonus, weightAdvantages, type ScaleRewards } from './advantages';
import { computeRewards, findBlocks, isNeeded, neededReadings, type AnswerSpec, type NeededReading, type RewardName } from './rewards';

export type GrpoLossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export type ImportanceSamplingLevel = 'token' | 'sequence';

// One stopGradient for every stage; re-exported where the losses that use it live.
export { stopGradient };

/** Sum of x over unmasked entries divided by their count (at least 1, as TRL's clamp(min=1)). */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/** Per-row masked mean, [B, L] -> [B]. */
export function rowMaskedMean(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.div(tf.sum(tf.mul(x, mask), 1), tf.maximum(tf.sum(mask, 1), 1)) as tf.Tensor1D;
}

/**
 * `mask_truncated_completions`: a completion cut at max_completion_length has no answer,
 * so its reward says nothing about its tokens; zero its whole row of the loss mask.
 */
export function maskTruncated(mask: tf.Tensor2D, truncated: readonly boolean[]): tf.Tensor2D {
  return tf.tidy(() => {
    const keep = tf.tensor2d(truncated.map((t) => [t ? 0 : 1]), [truncated.length, 1], 'float32');
    return tf.mul(mask, keep) as tf.Tensor2D;
  });
}

export interface GrpoLossInputs {
  /** [B, L] log-probs of the completion tokens under the policy being trained (on the tape). */
  logps: tf.Tensor2D;
  /** [B, L] log-probs under the policy that sampled the completions (constant). */
  oldLogps: tf.Tensor2D;
  /** [B, L] log-probs under the frozen reference; null when beta = 0. */
  refLogps: tf.Tensor2D | null;
  /** [B] one advantage per completion, or [B, L] one per token (reading credit added). */
  advantages: tf.Tensor1D | tf.Tensor2D;
  /** [B, L] 1 on completion tokens that count, 0 on padding (and truncated rows, if masked). */
  mask: tf.Tensor2D;
}

export interface GrpoLossParams {
  beta: number;
  epsilon: number;
  epsilon_high: number;
  loss_type: GrpoLossType;
  importance_sampling_level: ImportanceSamplingLevel;
  /** Only dr_grpo uses it: the constant normaliser B * max_completion_length. */
  max_completion_length: number;
}

export interface GrpoLossOutput {
  loss: tf.Scalar;
  /** Fraction of masked tokens whose ratio fell below 1-epsilon with A < 0 (TRL clip_ratio/low_mean). */
  clipLow: tf.Scalar;
  /** Fraction above 1+epsilon_high with A > 0 (clip_ratio/high_mean). */
  clipHigh: tf.Scalar;
  /** Either of the two (clip_ratio/region_mean). */
  clipRegion: tf.Scalar;
  /** Masked mean of the k3 KL estimate to the reference (0 when refLogps is null). */
  kl: tf.Scalar;
  /** Masked mean of the importance ratio. */
  ratioMean: tf.Scalar;
}

/**
 * TRL's GRPO loss (GRPOTrainer._compute_loss), per token:
 *   ratio  = exp(logp - old_logp)                        (token level), or
 *          = exp(masked mean over the row of (logp - old_logp))   (GSPO, sequence level)
 *   loss_t = -min(ratio * A, clip(ratio, 1 - epsilon, 1 + epsilon_high) * A)
 *            + beta * (exp(ref - logp) - (ref - logp) - 1)          (k3 KL, unbiased, >= 0)
 * aggregated by loss_type:
 *   grpo    : mean over each row's tokens, then mean over rows (long answers weigh less)
 *   bnpo    : sum over all tokens / number of tokens in the batch
 *   dr_grpo : sum over all tokens / (B * max_completion_length)   (no length bias at all)
 *   dapo    : sum / number of tokens in the *global* batch. TRL normalises by the token
 *             count across processes and gradient-accumulation steps; here a step is one
 *             process and one batch, so it equals bnpo. Kept as a name so configs map 1:1.
 */
export function grpoLoss(inp: GrpoLossInputs, p: GrpoLossParams): GrpoLossOutput {
  return tf.tidy(() => {
    const { logps, oldLogps, refLogps, mask } = inp;
    const [rows, cols] = logps.shape;
    const adv = inp.advantages.rank === 2 ? inp.advantages : tf.reshape(inp.advantages, [rows, 1]);
    const logRatio = tf.sub(logps, oldLogps);
    const logWeights: tf.Tensor =
      p.importance_sampling_level === 'sequence' ? tf.reshape(rowMaskedMean(logRatio as tf.Tensor2D, mask), [rows, 1]) : logRatio;
    const ratio = tf.exp(logWeights);
    const clipped = tf.clipByValue(ratio, 1 - p.epsilon, 1 + p.epsilon_high);
    let perToken: tf.Tensor = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv)));

    let kl: tf.Scalar = tf.scalar(0);
    if (refLogps !== null) {
      const d = tf.sub(refLogps, logps);
      const perTokenKl = tf.sub(tf.sub(tf.exp(d), d), 1);
      kl = maskedMean(perTokenKl, mask);
      if (p.beta !== 0) perToken = tf.add(perToken, tf.mul(perTokenKl, p.beta));
    } else if (p.beta !== 0) {
      throw new Error('grpo.ts grpoLoss: refLogps is null but beta is ' + p.beta);
    }

    let loss: tf.Scalar;
    switch (p.loss_type) {
      case 'grpo':
        loss = tf.mean(rowMaskedMean(perToken as tf.Tensor2D, mask)) as tf.Scalar;
        break;
      case 'bnpo':
      case 'dapo':
        loss = maskedMean(perToken, mask);
        break;
      case 'dr_grpo':
        loss = tf.div(tf.sum(tf.mul(perToken, mask)), rows * p.max_completion_length) as tf.Scalar;
        break;
      default:
        throw new Error(`grpo.ts grpoLoss: unknown loss_type ${String(p.loss_type)}`);
    }

    // Clip statistics as TRL logs them: a token counts as clipped only when clipping
    // actually removes its gradient (low side needs A < 0, high side A > 0).
    const ratioFull = tf.broadcastTo(ratio, [rows, cols]);
    const low = tf.logicalAnd(tf.less(ratioFull, 1 - p.epsilon), tf.less(adv, 0));
    const high = tf.logicalAnd(tf.greater(ratioFull, 1 + p.epsilon_high), tf.greater(adv, 0));
    const region = tf.logicalOr(low, high);
    return {
      loss,
      clipLow: maskedMean(tf.cast(low, 'float32'), mask),
      clipHigh: maskedMean(tf.cast(high, 'float32'), mask),
      clipRegion: maskedMean(tf.cast(region, 'float32'), mask),
      kl,
      ratioMean: maskedMean(ratioFull, mask),
    };
  });
}

/** Completions sampled in one batch (see sampleGroups). */
export const GENERATION_ROWS = 32;

// =========================================================================================
// Config (TRL GRPOConfig names; the lead composes this under `grpo.*` in the run config)

export const GrpoConfigSchema = z
  .object({
    /** Budget: optimizer steps, and/or wall-clock seconds (whichever ends first). */
    steps: z.number().int().positive().default(40),
    max_seconds: z.number().positive().nullable().default(null),
    /** Distinct prompts per step; each gets num_generations completions. */
    per_step_prompts: z.number().int().positive().default(4),
    num_generations: z.number().int().min(2).default(8),
    temperature: z.number().positive().default(1.0),
    top_p: z.number().gt(0).max(1).default(1.0),
    max_completion_length: z.number().int().positive().default(128),
    /** KL weight to the frozen reference. TRL now defaults to 0; VerIPO/DeepSeekMath use a KL term, 0.04 as TRL used to. */
    beta: z.number().min(0).default(0.04),
    epsilon: z.number().positive().default(0.2),
    /** Upper clip (DAPO clip-higher); null = epsilon, as TRL. */
    epsilon_high: z.number().positive().nullable().default(null),
    loss_type: z.enum(['grpo', 'bnpo', 'dr_grpo', 'dapo']).default('grpo'),
    /** TRL also accepts booleans: true = group, false = none. */
    scale_rewards: z
      .union([z.enum(['group', 'batch', 'none']), z.boolean()])
      .default('group')
      .transform((v): ScaleRewards => (v === true ? 'group' : v === false ? 'none' : v)),
    importance_sampling_level: z.enum(['token', 'sequence']).default('token'),
    num_iterations: z.number().int().positive().default(1),
    reward_weights: z
      .object({ accuracy: z.number(), format: z.number(), length: z.number(), consistency: z.number(), grounding: z.number(), grounded_accuracy: z.number(), reading_recall: z.number() })
      .partial()
      .strict()
      .default({}),
    /** Length reward shape (only matters when reward_weights.length > 0): words of reasoning for full reward, hard cap. */
    length_target: z.number().int().positive().default(64),
    length_max: z.number().int().positive().nullable().default(null),
    mask_truncated_completions: z.boolean().default(false),
    /**
     * Completions per forward/backward pass; a step's gradients accumulate over all of them
     * (TRL's name). 4, not TRL's 8: eight 330-token scene-text rows grow the wasm heap to
     * 1.9-2.3 GB (four: 1.0-1.3 GB), close to what tfjs-wasm can address.
     */
    per_device_train_batch_size: z.number().int().positive().default(4),
    /** TRL's 1e-6 is tuned for 7B models; a from-scratch small policy needs a larger step. */
    learning_rate: z.number().positive().default(2e-5),
    /**
     * TRL's warmup_steps: the learning rate rises linearly over these steps, then stays
     * (constant_with_warmup). A fresh Adam's first steps move every weight by about the full
     * learning rate whatever its gradient's signal-to-noise; warmup keeps those steps small.
     */
    warmup_steps: z.number().int().min(0).default(0),
    ...OPTIMIZER_CONFIG_FIELDS,
    /** DAPO dynamic sampling: drop groups whose rewards are all equal and sample more prompts to refill. */
    dynamic_sampling: z.boolean().default(false),
    /** Extra sampling rounds dynamic sampling may spend per step to refill the batch. */
    dynamic_sampling_max_rounds: z.number().int().min(0).default(2),
    /** Video-R1 T-GRPO: a second group on shuffled frames and the temporal bonus. */
    temporal: z.boolean().default(false),
    temporal_alpha: z.number().min(0).default(0.3),
    temporal_mu: z.number().min(0).default(0.8),
    /**
     * Per-token credit for readings (0 = off, as TRL): each "frame F : … at X Y" or "… is not
     * visible" reading in <think> adds reading_advantage * (right - the step's share of right
     * readings) to its own tokens' advantage; right = grounded and one the gold chain makes.
     * See gradedReadings and readingCredit.
     */
    reading_advantage: z.number().min(0).default(0),
    /**
     * Weights on positive and negative sequence advantages (both 1 = GRPO; not TRL keys).
     * negative_advantage_weight 0 reinforces only completions that beat their group; see
     * weightAdvantages.
     */
    positive_advantage_weight: z.number().min(0).default(1),
    negative_advantage_weight: z.number().min(0).default(1),
    /**
     * Which weights GRPO updates (not a TRL key). gains_biases: only the 1-D parameters, the
     * layer-norm gains and biases and every linear layer's bias (BitFit, LN-tuning): 8 321 of
     * the small policy's 1.55 M weights. An RL episode carries about a bit of information, so
     * a small trainable subset loses little of what RL can learn and cannot fit the few
     * prompts of each step the way every matrix can; it also takes a larger learning rate
     * (LoRA Without Regret).
     */
    trainable_parameters: z.enum(['all', 'gains_biases']).default('all'),
    /** Accuracy reward at or above this counts as "correct" for T-GRPO (numeric answers score in [0, 1]). */
    correct_threshold: z.number().min(0).max(1).default(0.5),
  })
  .strict();
export type GrpoConfig = z.output<typeof GrpoConfigSchema>;
export type GrpoConfigInput = z.input<typeof GrpoConfigSchema>;

/** Names of the parameters GRPO leaves alone under trainable_parameters (see the config). */
export function frozenParameterNames(shapes: Iterable<[string, readonly number[]]>, which: GrpoConfig['trainable_parameters']): string[] {
  if (which === 'all') return [];
  return [...shapes].filter(([, shape]) => shape.length !== 1).map(([name]) => name);
}

/** Learning rate of 1-based optimizer step `step`: linear warmup over warmup_steps, then constant. */
export function warmedUpRate(step: number, c: Pick<GrpoConfig, 'learning_rate' | 'warmup_steps'>): number {
  // SFT's schedule with no decay: min_ratio 1 keeps the rate at exactly lr after warmup.
  return learningRateAt(step - 1, { lr: c.learning_rate, warmup: c.warmup_steps, total: Infinity, min_ratio: 1 });
}

// =========================================================================================
// Reading credit (reading_advantage): per-token advantages for the readings in <think>

/**
 * The readings of a completion's <think> (retracted ones left out), each with whether the fact
 * log supports it and, when `needed` is given, whether the question needs it: a right reading
 * of a frame the question does not ask about counts as wrong.
 */
export function gradedReadings(text: string, facts: FactLog, needed?: readonly NeededReading[] | null): { span: [number, number]; grounded: boolean }[] {
  // The rewards' notion of the reasoning (extractThink): the first <think> block, else the whole text.
  const think = findBlocks(text, 'think')[0];
  const [start, end] = think ? [think.contentStart, think.contentEnd] : [0, text.length];
  return parseClaims(text)
    .filter((c) => !c.retracted && c.span[0] >= start && c.span[1] <= end)
    .map((c) => ({ span: c.span, grounded: isGrounded(c, facts) && isNeeded(c, needed) }));
}

/**
 * Reading credit per completion token: the tokens of each reading get (grounded ? 1 : 0) -
 * baseline, every other token 0. The sequence advantage credits a whole chain for its answer,
 * so a frame misread in a chain that still ends right is reinforced with the rest; this credit
 * moves each reading by its own correctness. baseline: the step's grounded share, so readings
 * as good as the policy's average are left alone. spans: tokenizer.decodeWithSpans's.
 */
export function readingCredit(spans: readonly ([number, number] | null)[], readings: readonly { span: [number, number]; grounded: boolean }[], baseline: number): number[] {
  return spans.map((t) => {
    if (!t) return 0;
    const r = readings.find((x) => t[0] < x.span[1] && t[1] > x.span[0]);
    return r ? (r.grounded ? 1 : 0) - baseline : 0;
  });
}

// =========================================================================================
// Micro-batches (TRL's per_device_train_batch_size with gradient accumulation)

/** Consecutive row ranges of at most `size` rows. */
export function microBatches(rows: number, size: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let start = 0; start < rows; start += size) out.push({ start, end: Math.min(rows, start + size) });
  return out;
}

/**
 * The factor on a micro-batch's own loss so that the micro-batches' weighted losses (and
 * so their gradients) sum to the full batch's loss for each loss_type: grpo and dr_grpo
 * average over rows, bnpo and dapo over the batch's unmasked tokens.
 */
export function microBatchWeight(lossType: GrpoLossType, c: { rows: number; totalRows: number; tokens: number; totalTokens: number }): number {
  if (lossType === 'grpo' || lossType === 'dr_grpo') return c.rows / c.totalRows;
  // maskedMean clamps an empty mask's count to 1; an all-masked batch has loss 0 either way.
  return c.totalTokens > 0 ? c.tokens / c.totalTokens : 0;
}

/** Add new gradients into a running sum (disposing what is replaced). */
export function accumulateGradients(sum: Map<string, tf.Tensor> | null, grads: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  if (!sum) return grads;
  for (const [name, g] of grads) {
    const prev = sum.get(name);
    sum.set(name, prev ? tf.add(prev, g) : g);
    if (prev) {
      prev.dispose();
      g.dispose();
    }
  }
  return sum;
}

// =========================================================================================
// Trainer

/** One training prompt, already encoded. Benchmark tasks map to it with trainTaskOf. */
export interface TrainTask {
  id: string;
  /** Prompt as text, for the rollout log. */
  promptText: string;
  prompt: PolicyPrompt;
  spec: AnswerSpec;
  /** What the frames show (benchmark tasks), for the grounding rewards. */
  facts?: FactLog;
  /** The readings the question needs (from the gold chain), for reading recall and credit. */
  needed?: NeededReading[];
}

export function trainTaskOf(task: Task, tokenizer: Tokenizer): TrainTask {
  return {
    id: task.id,
    promptText: promptText(task),
    prompt: taskPrompt(task, tokenizer),
    spec: { answer: task.answer, answerType: task.answerType, options: task.options },
    facts: task.facts,
    needed: neededReadings(task.cot.gold),
  };
}

export interface RolloutRow {
  step: number;
  promptId: string;
  taskId: string;
  promptText: string;
  groundTruth: string;
  groupIndex: number;
  text: string;
  tokens: number[];
  tokenCount: number;
  rewardParts: Record<string, number>;
  reward: number;
  /** 0 for rows that are not trained on (shuffled T-GRPO groups, groups dropped by dynamic sampling). */
  advantage: number;
  truncated: boolean;
  shuffled?: boolean;
}

export interface GrpoContext {
  policy: Policy;
  /** Frozen reference for the KL term (unused when beta = 0). */
  reference: Policy | null;
  tokenizer: Tokenizer;
  tasks: readonly TrainTask[];
  config: GrpoConfigInput;
  onEvent?: (ev: TrainEvent) => void;
  onRollouts?: (rows: RolloutRow[]) => void;
  shouldStop?: () => boolean;
  seed?: number;
  /**
   * When set, each step's gradient (after accumulation, before clipping; once per inner
   * iteration) goes here and the optimizer does not step: the weights stay put, so every step
   * is an independent sample of the gradient at the same point (bench/grpo-noise-scale.ts
   * measures its noise this way). The probe must not keep the tensors; they are disposed after.
   */
  gradientProbe?: (step: number, grads: ReadonlyMap<string, tf.Tensor>) => void;
}

export interface GrpoResult {
  steps: number;
  seconds: number;
  stoppedBy: 'steps' | 'max_seconds' | 'shouldStop';
  /** Last value of every metric. */
  last: Record<string, number>;
}


/** Frames permuted along time, never the identity when there are 2+ frames (T-GRPO's shuffled group). */
export function shuffleFrames(prompt: PolicyPrompt, rand: () => number): PolicyPrompt {
  const T = prompt.numFrames;
  if (!prompt.frames || T < 2) return prompt;
  const order = Array.from({ length: T }, (_, i) => i);
  do {
    for (let i = T - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  } while (order.every((v, i) => v === i));
  const frameBytes = prompt.frames.length / T;
  const frames = new Uint8Array(prompt.frames.length);
  order.forEach((src, dst) => frames.set(prompt.frames!.subarray(src * frameBytes, (src + 1) * frameBytes), dst * frameBytes));
  return { ...prompt, frames };
}

function meanStd(xs: readonly number[]): [number, number] {
  if (xs.length === 0) return [0, 0];
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length)];
}

interface Sampled {
  task: TrainTask;
  prompt: PolicyPrompt;
  shuffled: boolean;
  groupIndex: number;
  tokens: number[];
  /** Sampler log-probs of the tokens, log softmax(logits / temperature). */
  logprobs: number[];
  text: string;
  truncated: boolean;
  parts: Record<RewardName, number>;
  reward: number;
  /** Where each token landed in `text` (tokenizer.decodeWithSpans), for the reading credit. */
  spans: ([number, number] | null)[];
  /** Per-token reading credit (reading_advantage > 0 only). */
  credit?: number[];
}

/**
 * GRPO "slow search": per step, sample num_generations completions for per_step_prompts
 * prompts, reward them, turn rewards into group-relative advantages and take
 * num_iterations clipped policy-gradient steps with Adam, KL-regularised to `reference`.
 */
export async function runGrpo(ctx: GrpoContext): Promise<GrpoResult> {
  const cfg = GrpoConfigSchema.parse(ctx.config);
  const { policy, tokenizer } = ctx;
  if (ctx.tasks.length === 0) throw new Error('grpo.ts runGrpo: no training tasks');
  if (cfg.beta > 0 && !ctx.reference) throw new Error('grpo.ts runGrpo: config.beta > 0 needs a reference policy');
  const emit = ctx.onEvent ?? (() => {});
  const seed = ctx.seed ?? 0;
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const G = cfg.num_generations;
  const epsilonHigh = cfg.epsilon_high ?? cfg.epsilon;
  const optimizer = adamWFromConfig(policy, cfg);
  const last: Record<string, number> = {};
  const metric = (step: number, name: string, value: number) => {
    last[name] = value;
    emit({ type: 'metric', stage: 'grpo', step, name, value });
  };

  // Prompts are drawn without replacement from a shuffled epoch, reshuffled when used up.
  let order: number[] = [];
  const nextTask = (): TrainTask => {
    if (order.length === 0) {
      order = Array.from({ length: ctx.tasks.length }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    return ctx.tasks[order.pop()!]!;
  };

  const sampleGroups = (tasks: TrainTask[], round: number, step: number): Sampled[] => {
    const prompts = tasks.map((t) => t.prompt);
    // T-GRPO's shuffled twin only exists for videos (2+ frames); text and image prompts have no order to test.
    const twinOf: TrainTask[] = cfg.temporal ? tasks.filter((t) => t.prompt.frames !== null && t.prompt.numFrames >= 2) : [];
    for (const t of twinOf) prompts.push(shuffleFrames(t.prompt, rand));
    // At most GENERATION_ROWS completions at once: prefilling 8 prompts x 8 of a 200-word
    // scene text in one batch takes 90 MB blocks, and two runs died on such an allocation
    // once the 8-row updates had grown the wasm heap to ~2.3 GB. The first chunk keeps the
    // step's seed, so runs of up to 32 completions sample exactly as before.
    const perChunk = Math.max(1, Math.floor(GENERATION_ROWS / G));
    const out = { tokens: [] as number[][], logprobs: [] as number[][], truncated: [] as boolean[], promptIndex: [] as number[] };
    for (let first = 0; first < prompts.length; first += perChunk) {
      const part = generate(policy, prompts.slice(first, first + perChunk), {
        num_generations: G,
        temperature: cfg.temperature,
        top_p: cfg.top_p,
        max_completion_length: cfg.max_completion_length,
        seed: (seed * 100_003 + step * 101 + round + first * 7_919) >>> 0,
        eosId: tokenizer.eosId,
        padId: tokenizer.padId,
      });
      out.tokens.push(...part.tokens);
      out.logprobs.push(...part.logprobs);
      out.truncated.push(...part.truncated);
      out.promptIndex.push(...part.promptIndex.map((i) => first + i));
    }
    return out.tokens.map((tokens, row) => {
      const p = out.promptIndex[row]!;
      const shuffled = p >= tasks.length;
      const task = shuffled ? twinOf[p - tasks.length]! : tasks[p]!;
      const { text, spans } = tokenizer.decodeWithSpans(tokens);
      const { parts, total } = computeRewards(text, task.spec, cfg.reward_weights, {
        lengthTarget: cfg.length_target,
        lengthMax: cfg.length_max ?? undefined,
        // Shuffled frames no longer match the fact log's frame numbers.
        facts: shuffled ? null : task.facts,
        needed: shuffled ? null : task.needed,
      });
      return { task, prompt: prompts[p]!, shuffled, groupIndex: row % G, tokens, logprobs: out.logprobs[row]!, text, spans, truncated: out.truncated[row]!, parts, reward: total };
    });
  };

  const t0 = performance.now();
  let step = 0;
  let stoppedBy: GrpoResult['stoppedBy'] = 'steps';
  // policyGradients differentiates only trainable variables: freezing here is the whole subset.
  const frozen = frozenParameterNames([...policy.params].map(([name, v]) => [name, v.shape]), cfg.trainable_parameters)
    .map((name) => policy.params.get(name)!)
    .filter((v) => v.trainable);
  for (const v of frozen) v.trainable = false;
  try {
    while (step < cfg.steps) {
      // Yield so a worker thread can receive `stop` between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (ctx.shouldStop?.()) {
        stoppedBy = 'shouldStop';
        break;
      }
      if (cfg.max_seconds !== null && (performance.now() - t0) / 1000 >= cfg.max_seconds) {
        stoppedBy = 'max_seconds';
        break;
      }
      step++;

      // ---- generation + rewards --------------------------------------------------------
      const genStart = performance.now();
      const trained: Sampled[] = []; // ordered-frame rows that enter the loss, whole groups
      const logged: Sampled[] = [];
      const advantages: number[] = [];
      let dropped = 0;
      let bonusRows = 0;
      for (let round = 0; round <= (cfg.dynamic_sampling ? cfg.dynamic_sampling_max_rounds : 0); round++) {
        const want = cfg.per_step_prompts - trained.length / G;
        if (want <= 0) break;
        const tasks = Array.from({ length: want }, nextTask);
        const rows = sampleGroups(tasks, round, step);
        logged.push(...rows);
        const ordered = rows.filter((r) => !r.shuffled);
        if (cfg.temporal) {
          // Video-R1: the bonus is part of the accuracy reward of ordered rows, before advantages.
          for (let p = 0; p < tasks.length; p++) {
            const o = ordered.slice(p * G, (p + 1) * G);
            const s = rows.filter((r) => r.shuffled && r.task === tasks[p]);
            if (s.length === 0) {
              for (const r of o) r.parts = { ...r.parts, temporal: 0 } as Sampled['parts'];
              continue;
            }
            const bonus = temporalBonus(
              o.map((r) => r.parts.accuracy >= cfg.correct_threshold),
              s.map((r) => r.parts.accuracy >= cfg.correct_threshold),
              cfg.temporal_alpha,
              cfg.temporal_mu,
            );
            o.forEach((r, i) => {
              if (bonus[i]! > 0) bonusRows++;
              r.parts = { ...r.parts, temporal: bonus[i]! } as Sampled['parts'];
              r.reward += bonus[i]!;
            });
          }
        }
        const rewards = ordered.map((r) => r.reward);
        const keep = cfg.dynamic_sampling ? dynamicSamplingKeep(rewards, G) : rewards.map(() => true);
        ordered.forEach((r, i) => {
          if (!keep[i]) {
            dropped++;
            return;
          }
          trained.push(r);
        });
        // Advantages over the kept groups of this round (batch std over what is trained).
        const keptRewards = ordered.filter((_, i) => keep[i]).map((r) => r.reward);
        if (keptRewards.length > 0) advantages.push(...groupAdvantages(keptRewards, G, cfg.scale_rewards));
      }
      const weighted = weightAdvantages(advantages, cfg.positive_advantage_weight, cfg.negative_advantage_weight);
      const advOf = new Map<Sampled, number>(trained.map((r, i) => [r, weighted[i]!]));
      if (cfg.reading_advantage > 0) {
        const graded = trained.map((r) => (r.task.facts ? gradedReadings(r.text, r.task.facts, r.task.needed) : []));
        const all = graded.flat();
        const baseline = all.length ? all.filter((g) => g.grounded).length / all.length : 0;
        trained.forEach((r, i) => {
          if (graded[i]!.length) r.credit = readingCredit(r.spans, graded[i]!, baseline);
        });
        metric(step, 'readings/grounded_share', baseline);
      }
      const genSeconds = (performance.now() - genStart) / 1000;

      ctx.onRollouts?.(
        logged.map((r) => ({
          step,
          promptId: r.shuffled ? `${r.task.id}#shuffled` : r.task.id,
          taskId: r.task.id,
          promptText: r.task.promptText,
          groundTruth: r.task.spec.answer,
          groupIndex: r.groupIndex,
          text: r.text,
          tokens: r.tokens,
          tokenCount: r.tokens.length,
          rewardParts: r.parts,
          reward: r.reward,
          advantage: advOf.get(r) ?? 0,
          truncated: r.truncated,
          ...(r.shuffled ? { shuffled: true } : {}),
        })),
      );

      // ---- metrics of the samples -----------------------------------------------------
      const ordered = logged.filter((r) => !r.shuffled);
      const [rMean, rStd] = meanStd(ordered.map((r) => r.reward));
      metric(step, 'reward', rMean);
      metric(step, 'reward_std', rStd);
      for (const name of Object.keys(ordered[0]!.parts)) {
        const [m, s] = meanStd(ordered.map((r) => (r.parts as Record<string, number>)[name] ?? 0));
        metric(step, `rewards/${name}/mean`, m);
        metric(step, `rewards/${name}/std`, s);
      }
      metric(step, 'accuracy', meanStd(ordered.map((r) => r.parts.accuracy))[0]);
      metric(step, 'completions/mean_length', meanStd(ordered.map((r) => r.tokens.length))[0]);
      // Entropy of the sampling distribution, estimated as the mean of -log p(sampled token):
      // unbiased at top_p = 1 and free, where the exact value needs the full softmax again.
      const sampledLogps = ordered.flatMap((r) => r.logprobs);
      metric(step, 'entropy', sampledLogps.length ? -sampledLogps.reduce((a, b) => a + b, 0) / sampledLogps.length : 0);
      metric(step, 'completions/clipped_ratio', ordered.filter((r) => r.truncated).length / ordered.length);
      if (cfg.temporal) {
        const shuffled = logged.filter((r) => r.shuffled);
        metric(step, 'temporal/shuffled_accuracy', meanStd(shuffled.map((r) => r.parts.accuracy))[0]);
        metric(step, 'temporal/bonus_rate', bonusRows / ordered.length);
      }
      metric(step, 'frac_groups_dropped', dropped / ordered.length);
      metric(step, 'gen_seconds', genSeconds);

      // ---- update -----------------------------------------------------------------------
      const updateStart = performance.now();
      if (trained.length === 0) {
        emit({ type: 'log', level: 'info', message: `grpo step ${step}: every group had equal rewards; no update` });
      } else {
        updatePolicy(step, trained, trained.map((r) => advOf.get(r)!));
      }
      metric(step, 'update_seconds', (performance.now() - updateStart) / 1000);
      emit({ type: 'progress', stage: 'grpo', step, total: cfg.steps });
    }
  } finally {
    for (const v of frozen) v.trainable = true;
    optimizer.dispose();
  }
  return { steps: step, seconds: (performance.now() - t0) / 1000, stoppedBy, last };

  function updatePolicy(step: number, rows: Sampled[], adv: number[]): void {
    // The step's completions go through forward/backward in micro-batches whose gradients
    // add up to the full batch's (see microBatchWeight): one long scene-text group next to
    // frame groups would otherwise pad every row to the longest and exhaust wasm memory.
    const trainedTokens = (part: Sampled[]) => part.reduce((s, r) => s + (cfg.mask_truncated_completions && r.truncated ? 0 : r.tokens.length), 0);
    const totalTokens = trainedTokens(rows);
    const chunks = microBatches(rows.length, cfg.per_device_train_batch_size).map(({ start, end }) => {
      const part = rows.slice(start, end);
      const batch = collate(policy, part.map((r) => r.prompt), part.map((r) => r.tokens));
      const baseMask = tf.tensor2d(batch.responseMask, [part.length, batch.responseLen]);
      const mask = cfg.mask_truncated_completions ? maskTruncated(baseMask, part.map((r) => r.truncated)) : baseMask;
      if (mask !== baseMask) baseMask.dispose();
      const tokens = trainedTokens(part);
      return {
        batch,
        mask,
        advantages: cfg.reading_advantage > 0 ? tokenAdvantages(part, adv.slice(start, end), batch.responseLen) : tf.tensor1d(adv.slice(start, end)),
        // The reference never trains: its log-probs are computed once, outside the tape.
        refLogps: cfg.beta > 0 && ctx.reference ? tf.tidy(() => sequenceLogprobs(ctx.reference!, batch, { temperature: cfg.temperature }).logprobs) : null,
        oldLogps: null as tf.Tensor2D | null,
        weight: microBatchWeight(cfg.loss_type, { rows: part.length, totalRows: rows.length, tokens, totalTokens }),
        tokenShare: totalTokens > 0 ? tokens / totalTokens : 0,
      };
    });
    const sums = { loss: 0, clipLow: 0, clipHigh: 0, clipRegion: 0, kl: 0, ratio: 0, gradNorm: 0 };
    function tokenAdvantages(part: Sampled[], a: number[], len: number): tf.Tensor2D {
      const out = new Float32Array(part.length * len);
      part.forEach((r, b) => {
        for (let j = 0; j < len; j++) out[b * len + j] = a[b]! + cfg.reading_advantage * (r.credit?.[j] ?? 0);
      });
      return tf.tensor2d(out, [part.length, len]);
    }
    try {
      for (let it = 0; it < cfg.num_iterations; it++) {
        const stats = { loss: 0, clipLow: 0, clipHigh: 0, clipRegion: 0, kl: 0, ratio: 0 };
        let grads: Map<string, tf.Tensor> | null = null;
        for (const chunk of chunks) {
          const out = policyGradients(policy, () => {
            const sl = sequenceLogprobs(policy, chunk.batch, { temperature: cfg.temperature });
            // Iteration 0: the policy still equals the sampler, so old = detached current
            // (ratio exactly 1, as TRL); later iterations reuse those values.
            const old = chunk.oldLogps ?? (stopGradient(sl.logprobs) as tf.Tensor2D);
            if (it === 0 && cfg.num_iterations > 1) chunk.oldLogps = tf.keep(tf.clone(old)) as tf.Tensor2D;
            const o = grpoLoss(
              { logps: sl.logprobs, oldLogps: old, refLogps: chunk.refLogps, advantages: chunk.advantages, mask: chunk.mask },
              {
                beta: cfg.beta,
                epsilon: cfg.epsilon,
                epsilon_high: epsilonHigh,
                loss_type: cfg.loss_type,
                importance_sampling_level: cfg.importance_sampling_level,
                max_completion_length: cfg.max_completion_length,
              },
            );
            // Token-level statistics are masked means: weight them by the chunk's tokens.
            stats.clipLow += o.clipLow.dataSync()[0]! * chunk.tokenShare;
            stats.clipHigh += o.clipHigh.dataSync()[0]! * chunk.tokenShare;
            stats.clipRegion += o.clipRegion.dataSync()[0]! * chunk.tokenShare;
            stats.kl += o.kl.dataSync()[0]! * chunk.tokenShare;
            stats.ratio += o.ratioMean.dataSync()[0]! * chunk.tokenShare;
            return tf.mul(o.loss, chunk.weight) as tf.Scalar;
          });
          stats.loss += out.loss;
          grads = accumulateGradients(grads, out.grads);
        }
        if (ctx.gradientProbe) {
          ctx.gradientProbe(step, grads!);
          tf.dispose([...grads!.values()]);
          sums.loss += stats.loss;
          continue;
        }
        const gradNorm = clippedStep(optimizer, grads!, stats.loss, { maxGradNorm: cfg.max_grad_norm, lr: warmedUpRate(step, cfg), stage: 'grpo', step });
        sums.loss += stats.loss;
        sums.gradNorm += gradNorm;
        sums.clipLow += stats.clipLow;
        sums.clipHigh += stats.clipHigh;
        sums.clipRegion += stats.clipRegion;
        sums.kl += stats.kl;
        sums.ratio += stats.ratio;
      }
    } finally {
      tf.dispose(chunks.flatMap((c) => [c.advantages, c.mask, ...(c.refLogps ? [c.refLogps] : []), ...(c.oldLogps ? [c.oldLogps] : [])]));
    }
    const n = cfg.num_iterations;
    metric(step, 'loss', sums.loss / n);
    metric(step, 'grad_norm', sums.gradNorm / n);
    metric(step, 'clip_ratio/low_mean', sums.clipLow / n);
    metric(step, 'clip_ratio/high_mean', sums.clipHigh / n);
    metric(step, 'clip_ratio/region_mean', sums.clipRegion / n);
    if (cfg.beta > 0) metric(step, 'kl', sums.kl / n);
    metric(step, 'ratio_mean', sums.ratio / n);
  }
}
