// The run config: one JSON document validated by zod, namespaced by stage with TRL's names
// inside (`grpo.loss_type`, `dpo.beta`, …), plus the presets and `--set a.b=value` overrides.
import { z } from 'zod';
import { GrpoConfigSchema } from '../train/grpo';
import { DpoConfigSchema } from '../train/dpo';
import { DEFAULT_SFT_CONFIG } from '../train/sft';
import { HealthConfigSchema, DEFAULT_HEALTH_CONFIG } from '../train/health';
import { COT_VARIANTS } from '../video';

// Every count and size has an upper bound: past it a typo (loop.iterations=1e9) exhausts memory
// or time before a stage starts, and the error names the key and the limit.
const SftConfigSchema = z
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
    /** Threads per SFT batch (1 = one thread; default 2 on a machine with 2+ cores). Not part of the SFT cache key. */
    workers: z.number().int().min(1).max(64).default(DEFAULT_SFT_CONFIG.workers),
    /** Weight of the copy pointer's own loss next to the next-token loss (copy_head policies; 0 = off). */
    pointer_loss_weight: z.number().min(0).default(DEFAULT_SFT_CONFIG.pointer_loss_weight),
    /** Weight of the vocabulary head's own loss next to the next-token loss (copy_head policies; 0 = off). */
    vocab_loss_weight: z.number().min(0).default(DEFAULT_SFT_CONFIG.vocab_loss_weight),
    /** Reuse a finished SFT of the same model, config and seed from $VERIPO_HOME/cache (fair baselines start from one checkpoint). */
    cache: z.boolean().default(true),
    /** Save weights, optimizer state and step every this many steps, so a run killed mid-SFT resumes there (TRL's name; 0 = only at the end). */
    save_steps: z.number().int().min(0).max(1_000_000).default(50),
  })
  .strict();

const ModelConfigSchema = z
  .object({
    preset: z.enum(['tiny', 'small', 'base']).default('small'),
    /** Force a tfjs backend; null picks tensorflow → wasm → cpu (VERIPO_BACKEND also forces). */
    backend: z.enum(['tensorflow', 'wasm', 'cpu']).nullable().default(null),
    /** Start from this checkpoint folder instead of a fresh policy. */
    init_checkpoint: z.string().nullable().default(null),
  })
  .strict();

const DataConfigSchema = z
  .object({
    /** Training prompts GRPO draws from (benchmark train split). */
    train_size: z.number().int().positive().max(100_000).default(512),
    val_size: z.number().int().positive().max(10_000).default(96),
    test_size: z.number().int().positive().max(10_000).default(192),
    difficulty: z.number().int().min(1).max(3).default(1),
    modality: z.enum(['video', 'image', 'text']).default('video'),
  })
  .strict();

const VerifierConfigSchema = z
  .object({
    /** A rubric preset (default | strict | lenient), a saved rubric's name or "#id", or a rubric JSON file. */
    rubric: z.string().default('default'),
    /** Use the rubric's LLM judge (needs a reachable OpenAI-compatible server). */
    judge: z.boolean().default(false),
  })
  .strict();

const LoopConfigSchema = z
  .object({
    /** veripo: GRPO → verify → DPO per iteration, then a final GRPO; grpo: continual GRPO only (baseline). */
    method: z.enum(['veripo', 'grpo']).default('veripo'),
    iterations: z.number().int().min(0).max(1000).default(2),
    /** Probability of dropping a prompt every rollout solved from the next GRPO stage (paper: 0.8). */
    discard_solved: z.number().min(0).max(1).default(0.8),
    /** Paper's curriculum: the first GRPO stage on text, then image, then video. */
    curriculum: z.boolean().default(false),
    /** Total wall-clock budget for the RL stages (after SFT); null = steps decide. */
    max_seconds: z.number().positive().nullable().default(null),
    /** Greedy (0) or sampled eval on val after every stage. */
    eval_temperature: z.number().min(0).default(0),
    /** Evaluate on the test split at the end. */
    final_test: z.boolean().default(false),
  })
  .strict();

export const RunConfigSchema = z
  .object({
    seed: z.number().int().min(0).default(0),
    experiment: z.string().min(1).max(200).default('default'),
    model: ModelConfigSchema.default(ModelConfigSchema.parse({})),
    data: DataConfigSchema.default(DataConfigSchema.parse({})),
    sft: SftConfigSchema.default(SftConfigSchema.parse({})),
    grpo: GrpoConfigSchema.default(GrpoConfigSchema.parse({})),
    verifier: VerifierConfigSchema.default(VerifierConfigSchema.parse({})),
    dpo: DpoConfigSchema.default(DpoConfigSchema.parse({})),
    loop: LoopConfigSchema.default(LoopConfigSchema.parse({})),
    /** The training health guard's thresholds (docs/reliability.md). */
    health: HealthConfigSchema.default(DEFAULT_HEALTH_CONFIG),
  })
  .strict();
export type RunConfig = z.output<typeof RunConfigSchema>;

type Plain = Record<string, unknown>;

/** Presets are partial configs merged over the defaults. */
export const PRESETS: Record<string, { description: string; config: Plain }> = {
  veripo: {
    description: 'VerIPO: cold-start SFT, then GRPO → verifier → DPO twice, then GRPO (small policy, embedded benchmark)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, num_generations: 8, learning_rate: 2e-5, max_completion_length: 96 },
      dpo: { epochs: 2, batch_size: 8, learning_rate: 2e-5 },
      loop: { method: 'veripo', iterations: 2 },
    },
  },
  smoke: {
    description: 'A three-minute check of the whole loop: tiny policy, short SFT, GRPO → verify → DPO → GRPO',
    config: {
      experiment: 'smoke',
      model: { preset: 'tiny' },
      data: { train_size: 64, val_size: 24, test_size: 24 },
      // Enough cold start for the tiny policy to answer some video questions, so the verifier
      // finds pairs: with 200 steps 5 of 192 rollouts are well-formed and none pair; 400 steps
      // give 28 and 16 pairs. The tiny policy's pointer shares its trunk, where the
      // vocabulary-head loss does not help (research/computed-word.md), so it is off.
      sft: { steps: 400, batch_size: 16, learning_rate: 3e-3, modalities: ['video'], difficulties: [1], cache: false, vocab_loss_weight: 0 },
      grpo: { steps: 3, per_step_prompts: 4, num_generations: 8, max_completion_length: 96 },
      dpo: { epochs: 1, batch_size: 4 },
      // The tiny policy's few right answers rarely ground their observations; the lenient rubric
      // (no grounding check, 5-word floor) still gives DPO real pairs to train on.
      verifier: { rubric: 'lenient' },
      loop: { method: 'veripo', iterations: 1 },
    },
  },
  demo: {
    description: 'A ten-minute demo with the small policy: one VerIPO iteration',
    config: {
      experiment: 'demo',
      sft: { steps: 150 },
      grpo: { steps: 8, per_step_prompts: 4, max_completion_length: 96 },
      loop: { method: 'veripo', iterations: 1 },
    },
  },
  grpo: {
    description: 'Baseline: continual GRPO (TRL loss_type grpo) with the same budget as veripo',
    config: { experiment: 'veripo', grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, max_completion_length: 96 }, loop: { method: 'grpo', iterations: 2 } },
  },
  dapo: {
    description: 'Baseline: DAPO (loss_type dapo, clip-higher 0.28, dynamic sampling, no KL)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, max_completion_length: 96, loss_type: 'dapo', epsilon_high: 0.28, dynamic_sampling: true, beta: 0 },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
  dr_grpo: {
    description: 'Baseline: Dr. GRPO (loss_type dr_grpo, no std scaling)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, max_completion_length: 96, loss_type: 'dr_grpo', scale_rewards: 'none' },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
  gspo: {
    description: 'Baseline: GSPO (sequence-level importance sampling)',
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, max_completion_length: 96, importance_sampling_level: 'sequence', epsilon: 3e-4, epsilon_high: 4e-4 },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
  't-grpo': {
    description: "Baseline: Video-R1's T-GRPO (shuffled-frame group, temporal bonus α=0.3, μ=0.8)",
    config: {
      experiment: 'veripo',
      grpo: { steps: 24, per_step_prompts: 4, learning_rate: 2e-5, max_completion_length: 96, temporal: true },
      loop: { method: 'grpo', iterations: 2 },
    },
  },
};

export const DEFAULT_PRESET = 'veripo';

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
  return out;
}

/** `--set grpo.beta=0.02`: values parse as JSON when they can (numbers, booleans, null, arrays), else stay strings. */
export function parseSetValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function applySet(config: Plain, key: string, value: unknown): Plain {
  const path = key.split('.');
  if (path.some((p) => !p)) throw new ConfigError(`bad key "${key}" (expected a.b.c)`);
  const over: Plain = {};
  let cur = over;
  path.forEach((p, i) => {
    if (i === path.length - 1) cur[p] = value;
    else cur = cur[p] = {} as Plain;
  });
  return deepMerge(config, over);
}

export class ConfigError extends Error {}

/** Validate a config document; errors name each bad key with its dotted path. */
export function parseRunConfig(raw: unknown, source = 'config'): RunConfig {
  const r = RunConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`${source} is not a valid run config:\n${lines.join('\n')}`);
  }
  return r.data;
}

export function resolveRunConfig(opts: { preset?: string; file?: Plain; sets?: [string, unknown][]; source?: string }): RunConfig {
  const name = opts.preset ?? DEFAULT_PRESET;
  const preset = PRESETS[name];
  if (!preset) throw new ConfigError(`unknown preset "${name}" (known: ${Object.keys(PRESETS).join(', ')})`);
  let doc: Plain = deepMerge({}, preset.config);
  if (opts.file) doc = deepMerge(doc, opts.file);
  for (const [k, v] of opts.sets ?? []) doc = applySet(doc, k, v);
  return parseRunConfig(doc, opts.source ?? `preset ${name}`);
}

/** Flatten to dotted keys: what the Runs form shows as defaults. */
export function flattenConfig(obj: Plain, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isPlain(v)) Object.assign(out, flattenConfig(v, key));
    else out[key] = v;
  }
  return out;
}
