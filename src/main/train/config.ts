// Every training stage's settings in one place, with TRL's names where TRL has one: the
// zod schemas `veripo run`, the single-stage commands and the Runs page validate against,
// and the defaults the trainers start from.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { COT_VARIANTS } from '../video/cot';
import type { CotVariant, Modality } from '../video/tasks';
import type { ScaleRewards } from './advantages';

/** TRL's optimizer settings, shared by the GRPO and DPO configs (`grpo.adam_beta1`, `dpo.max_grad_norm`, …). */
export const OPTIMIZER_CONFIG_FIELDS = {
  adam_beta1: z.number().min(0).lt(1).default(0.9),
  adam_beta2: z.number().min(0).lt(1).default(0.999),
  adam_epsilon: z.number().positive().default(1e-8),
  /** Decoupled (AdamW) weight decay on matrices; TRL's default is 0. */
  weight_decay: z.number().min(0).default(0),
  max_grad_norm: z.number().positive().default(1.0),
};

/**
 * `sft.workers`, `grpo.workers`, `dpo.workers`: threads a stage computes on. 1 = this thread;
 * N = this thread and N-1 gradient peers (./data-parallel), each computing the gradient of its
 * share of every batch (and, in GRPO, sampling its share of the groups). The wasm backend is
 * single-threaded, so more threads are the only way a stage uses more cores. Results match
 * one thread up to float rounding. Not part of any cache key. Default 2 with 2+ cores.
 */
const WORKERS_FIELD = z.number().int().min(1).max(64).default(() => defaultWorkers());

// SFT

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
  /**
   * Threads that compute each batch's gradient (1 = this thread only; N = this thread and
   * N-1 gradient peers, each on a slice of the rows). The wasm backend is single-threaded,
   * so more threads are the only way SFT uses more cores. Results match up to float rounding.
   */
  workers: number;
  /**
   * Weight of an extra loss on the copy head's pointer alone (copy_head policies): its
   * negative log-probability of each response token that was there to copy. Without it the
   * gate shuts on the pointer wherever the pointer starts out worse than the vocabulary
   * head, the pointer then gets no gradient there, and mappings only it can make (an
   * option's words to its letter) stay at chance. 0 turns it off.
   */
  pointer_loss_weight: number;
  /**
   * Weight of the vocabulary head's own negative log-likelihood (copy_head policies), added
   * to the mixture's. Where the pointer takes most of the gate, the mixture passes the
   * vocabulary head little gradient, and a word it alone can produce (one computed from
   * earlier steps) is learned slowly; this loss trains it on every token. 0 turns it off.
   */
  vocab_loss_weight: number;
}

/** Two threads when the machine has two cores to give, else one (`sft.workers`, `grpo.workers`, `dpo.workers`). */
export function defaultWorkers(): number {
  return availableParallelism() >= 2 ? 2 : 1;
}

// The small preset's recipe: 700 steps of batch 6 at 2e-3 on two threads, about ten minutes
// on two cores (research/sft-cold-start.md has the accuracy and the alternatives). More
// steps keep paying (1 000 steps reach higher val than 500); the learning rate matters most:
// the policy first learns the chain templates and only later to copy names from the
// question and read cells from the frames, and at 6e-3 it does not leave that plateau within
// 600 steps while at 1e-3-2e-3 it copies names by step ~300.
export const DEFAULT_SFT_CONFIG: SftConfig = {
  learning_rate: 2e-3,
  steps: 700,
  batch_size: 6,
  warmup_steps: 20,
  min_lr_ratio: 0.1,
  weight_decay: 0.01,
  max_grad_norm: 1,
  mix: { gold: 0.7, direct: 0.1, reflective: 0.2 },
  modalities: ['text', 'image', 'video'],
  difficulties: [1, 2, 3],
  seed: 0,
  workers: defaultWorkers(),
  pointer_loss_weight: 0.5,
  vocab_loss_weight: 1,
};

// Every count and size has an upper bound: past it a typo (loop.iterations=1e9) exhausts memory
// or time before a stage starts, and the error names the key and the limit.
export const SftConfigSchema = z
  .object({
    /** 0 skips cold-start SFT (then model.init_checkpoint should point at a trained policy). */
    steps: z.number().int().min(0).max(1_000_000).default(DEFAULT_SFT_CONFIG.steps),
    learning_rate: z.number().positive().default(DEFAULT_SFT_CONFIG.learning_rate),
    batch_size: z.number().int().positive().max(1024).default(DEFAULT_SFT_CONFIG.batch_size),
    warmup_steps: z.number().int().min(0).max(1_000_000).default(DEFAULT_SFT_CONFIG.warmup_steps),
    min_lr_ratio: z.number().min(0).max(1).default(DEFAULT_SFT_CONFIG.min_lr_ratio),
    weight_decay: z.number().min(0).default(DEFAULT_SFT_CONFIG.weight_decay),
    max_grad_norm: z.number().positive().default(DEFAULT_SFT_CONFIG.max_grad_norm),
    mix: z.partialRecord(z.enum(COT_VARIANTS), z.number().min(0)).default({ ...DEFAULT_SFT_CONFIG.mix }),
    modalities: z.array(z.enum(['video', 'image', 'text'])).min(1).max(64).default([...DEFAULT_SFT_CONFIG.modalities]),
    difficulties: z.array(z.number().int().min(1).max(3)).min(1).max(64).default([...DEFAULT_SFT_CONFIG.difficulties]),
    workers: WORKERS_FIELD,
    /** Weight of the copy pointer's own loss next to the next-token loss (copy_head policies; 0 = off). */
    pointer_loss_weight: z.number().min(0).default(DEFAULT_SFT_CONFIG.pointer_loss_weight),
    /** Weight of the vocabulary head's own loss next to the next-token loss (copy_head policies; 0 = off). */
    vocab_loss_weight: z.number().min(0).default(DEFAULT_SFT_CONFIG.vocab_loss_weight),
    /** Save weights, optimizer state and step every this many steps, so a run killed mid-SFT resumes there (TRL's name; 0 = only at the end). */
    save_steps: z.number().int().min(0).max(1_000_000).default(50),
    /** Reuse a finished SFT of the same model, config and seed from the per-user cache, $XDG_CACHE_HOME/veripo (fair baselines start from one checkpoint). */
    cache: z.boolean().default(true),
  })
  .strict();

// GRPO (TRL GRPOConfig names)

/**
 * Completion tokens GRPO samples (and, plus one, DPO trains on) unless set: the benchmark's
 * longest gold chain is 151 tokens with <eos> (order, difficulty 3) and its reflective
 * variant 162; a cap below that cuts correct chains before their answer, they score 0 and
 * pollute GRPO's groups and the verifier's pairs. tests/unit/train/completion-length.test.ts
 * measures the chains against it.
 */
export const DEFAULT_MAX_COMPLETION_LENGTH = 176;

/** Above this fraction of cut completions at a stage's start, the stage warns in the run log. */
export const TRUNCATION_WARNING = 0.05;

export const GrpoConfigSchema = z
  .object({
    /** Budget: optimizer steps, and/or wall-clock seconds (whichever ends first). */
    // Upper bounds on counts and sizes: past them a typo (1e9) exhausts memory or time before anything is learned.
    steps: z.number().int().positive().max(1_000_000).default(40),
    max_seconds: z.number().positive().nullable().default(null),
    /** Distinct prompts per step; each gets num_generations completions. */
    per_step_prompts: z.number().int().positive().max(1024).default(4),
    num_generations: z.number().int().min(2).max(256).default(8),
    temperature: z.number().positive().default(1.0),
    top_p: z.number().gt(0).max(1).default(1.0),
    max_completion_length: z.number().int().positive().max(4096).default(DEFAULT_MAX_COMPLETION_LENGTH),
    /** KL weight to the frozen reference. TRL defaults to 0; VerIPO and DeepSeekMath use a KL term (0.04). */
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
    num_iterations: z.number().int().positive().max(64).default(1),
    reward_weights: z
      .object({ accuracy: z.number(), format: z.number(), length: z.number(), consistency: z.number(), grounding: z.number(), grounded_accuracy: z.number(), reading_recall: z.number() })
      .partial()
      .strict()
      .default({}),
    /** Length reward shape (only matters when reward_weights.length > 0): words of reasoning for full reward, hard cap. */
    length_target: z.number().int().positive().max(4096).default(64),
    length_max: z.number().int().positive().max(4096).nullable().default(null),
    mask_truncated_completions: z.boolean().default(false),
    /**
     * Completions per forward/backward pass; a step's gradients accumulate over all of them
     * (TRL's name). 4, not TRL's 8: eight 330-token scene-text rows grow the wasm heap to
     * 1.9-2.3 GB (four: 1.0-1.3 GB), close to what tfjs-wasm can address.
     */
    per_device_train_batch_size: z.number().int().positive().max(1024).default(4),
    /** TRL's 1e-6 is tuned for 7B models; a from-scratch small policy needs a larger step. */
    learning_rate: z.number().positive().default(2e-5),
    /**
     * TRL's warmup_steps: the learning rate rises linearly over these steps, then stays
     * (constant_with_warmup). A fresh Adam's first steps move every weight by about the full
     * learning rate whatever its gradient's signal-to-noise; warmup keeps those steps small.
     */
    warmup_steps: z.number().int().min(0).max(1_000_000).default(0),
    ...OPTIMIZER_CONFIG_FIELDS,
    workers: WORKERS_FIELD,
    /** DAPO dynamic sampling: drop groups whose rewards are all equal and sample more prompts to refill. */
    dynamic_sampling: z.boolean().default(false),
    /** Extra sampling rounds dynamic sampling may spend per step to refill the batch. */
    dynamic_sampling_max_rounds: z.number().int().min(0).max(64).default(2),
    /** Video-R1 T-GRPO: a second group on shuffled frames and the temporal bonus. */
    temporal: z.boolean().default(false),
    temporal_alpha: z.number().min(0).default(0.3),
    temporal_mu: z.number().min(0).default(0.8),
  })
  .strict();
export type GrpoConfig = z.output<typeof GrpoConfigSchema>;
export type GrpoConfigInput = z.input<typeof GrpoConfigSchema>;

/**
 * Whether GRPO has a KL term, and so a frozen reference policy to compute it against: beta 0
 * drops both (TRL). Every stage and command asks here.
 */
export function usesReference(c: { beta: number }): boolean {
  return c.beta > 0;
}

// DPO (TRL DPOConfig names)

export const DpoConfigSchema = z
  .object({
    beta: z.number().positive().default(0.1),
    loss_type: z.enum(['sigmoid', 'ipo', 'hinge']).default('sigmoid'),
    label_smoothing: z.number().min(0).max(0.5).default(0),
    /** RPO: weight of the NLL of chosen completions; null = off (TRL default). */
    rpo_alpha: z.number().min(0).nullable().default(null),
    /** TRL's 1e-6 is tuned for 7B models; a small policy needs a larger step. */
    learning_rate: z.number().positive().default(1e-5),
    /** Pairs per optimizer step (TRL per_device_train_batch_size). */
    // Upper bounds on counts and sizes: past them a typo exhausts memory or time.
    batch_size: z.number().int().positive().max(1024).default(8),
    /**
     * Pairs per forward of the reference pass, made once per stage. TRL's default is the train
     * batch; a smaller one pads less and splits evenly across the threads.
     */
    precompute_ref_batch_size: z.number().int().positive().max(1024).default(4),
    /** Passes over the pairs (TRL num_train_epochs); `steps` (TRL max_steps) wins when set. */
    epochs: z.number().int().positive().max(10_000).default(1),
    steps: z.number().int().positive().max(1_000_000).nullable().default(null),
    max_seconds: z.number().positive().nullable().default(null),
    /** Completion tokens including <eos>, as GRPO's sampler counts them; longer ones are cut. null = whatever fits the model. */
    max_completion_length: z.number().int().positive().max(4096).nullable().default(null),
    ...OPTIMIZER_CONFIG_FIELDS,
    workers: WORKERS_FIELD,
  })
  .strict();
export type DpoConfig = z.output<typeof DpoConfigSchema>;
export type DpoConfigInput = z.input<typeof DpoConfigSchema>;
