// GRPO, the "slow search" stage of VerIPO, with the variants it is compared against:
// TRL's loss types (grpo, bnpo, dr_grpo, dapo), clip-higher (`epsilon_high`), DAPO
// dynamic sampling, GSPO (`importance_sampling_level: 'sequence'`) and Video-R1's T-GRPO.
// The trainer is one readable loop: sample groups and reward them (grpo-rollouts.ts) ->
// advantages -> `num_iterations` clipped updates with the loss of grpo-loss.ts.
import { adamWFromConfig, clippedStep, learningRateAt } from '../model/optim';
import type { Policy } from '../model/policy';
import { mulberry32 } from '../model/sample';
import type { Tokenizer } from '../model/tokenizer';
import type { TrainEvent } from '../model/worker-protocol';
import type { HealthGuard } from './health';
import type { ScaleRewards } from './advantages';
import { GrpoConfigSchema, TRUNCATION_WARNING, usesReference, type GrpoConfig, type GrpoConfigInput } from './config';
import { sampleStep, shardedSampler, taskSampler, type RolloutSource, type Sampled, type TrainTask } from './grpo-rollouts';
import { disposeChunkTensors, GRPO_SHARD_STATS, grpoChunkTensors, grpoParallelGradients, grpoUpdateChunks, splitChunks, type GrpoChunkTensors } from './grpo-update';
import type { GradientPeer } from './gradient-peer';
import { releasePeers, startPeers } from './peer-pool';




/** Learning rate of 1-based optimizer step `step`: linear warmup over warmup_steps, then constant. */
export function warmedUpRate(step: number, c: Pick<GrpoConfig, 'learning_rate' | 'warmup_steps'>): number {
  // SFT's schedule with no decay: min_ratio 1 keeps the rate at exactly lr after warmup.
  return learningRateAt(step - 1, { lr: c.learning_rate, warmup: c.warmup_steps, total: Infinity, min_ratio: 1 });
}

/**
 * One sampled completion as GRPO reports it, named as the rollouts table stores it (snake_case,
 * `text` the completion, `prompt` the prompt text): the loop stores it with step and stage only.
 */
export interface GrpoRollout {
  step: number;
  task_id: string;
  /** A T-GRPO twin: the same prompt with its frames shuffled. */
  shuffled: boolean;
  group_index: number;
  prompt: string;
  ground_truth: string;
  text: string;
  /** The sampled token ids, EOS included when one was sampled. */
  tokens: number[];
  /** The sampler's log-prob of each of `tokens`. */
  logprobs: number[];
  reward: number;
  reward_parts: Record<string, number>;
  /** 0 for rows that are not trained on (shuffled T-GRPO groups, groups dropped by dynamic sampling). */
  advantage: number;
  truncated: boolean;
}

export interface GrpoContext {
  policy: Policy;
  /** Frozen reference for the KL term (unused when beta = 0). */
  reference: Policy | null;
  tokenizer: Tokenizer;
  tasks: readonly TrainTask[];
  config: GrpoConfigInput;
  onEvent?: (ev: TrainEvent) => void;
  onRollouts?: (rows: GrpoRollout[]) => void;
  shouldStop?: () => boolean;
  /** Checked after every step (./health); throws to stop a diverged stage. */
  health?: HealthGuard;
  seed?: number;
}

export interface GrpoResult {
  steps: number;
  seconds: number;
  stoppedBy: 'steps' | 'max_seconds' | 'shouldStop';
  /** Last value of every metric. */
  last: Record<string, number>;
  /** Fraction of the stage's sampled completions (ordered frames) cut at max_completion_length. */
  truncation_rate: number;
  /** The same over the first step's completions: what the stage started from. */
  truncation_rate_start: number;
}

function meanStd(xs: readonly number[]): [number, number] {
  if (xs.length === 0) return [0, 0];
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length)];
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
  const kl = usesReference(cfg);
  if (kl && !ctx.reference) throw new Error('grpo.ts runGrpo: config.beta > 0 needs a reference policy');
  const emit = ctx.onEvent ?? (() => {});
  const seed = ctx.seed ?? 0;
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const optimizer = adamWFromConfig(policy, cfg);
  const last: Record<string, number> = {};
  const metric = (step: number, name: string, value: number) => {
    last[name] = value;
    emit({ type: 'metric', stage: 'grpo', step, name, value });
  };

  const truncation = { cut: 0, total: 0, start: 0 };
  const t0 = performance.now();
  let step = 0;
  let stoppedBy: GrpoResult['stoppedBy'] = 'steps';
  let peers: GradientPeer[] = [];
  try {
    // Each peer samples its share of a step's groups and computes its share of the update.
    peers = await startPeers(cfg.workers, cfg.steps, policy, tokenizer, { kind: 'grpo', grpo: cfg }, kl ? ctx.reference : null);
    if (peers.length > 0) emit({ type: 'log', level: 'info', message: `grpo: sampling and updates split across ${peers.length + 1} threads (peers: ${peers[0]!.backend})` });
    const src: RolloutSource = { policy, tokenizer, cfg, rand, seed, nextTask: taskSampler(ctx.tasks, rand), sampler: peers.length > 0 ? shardedSampler(peers, policy, tokenizer, cfg) : undefined };

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
      const { trained, logged, advantageOf: advOf, dropped, bonusRows } = await sampleStep(src, step);
      const genSeconds = (performance.now() - genStart) / 1000;

      ctx.onRollouts?.(
        logged.map((r) => ({
          step,
          task_id: r.task.id,
          shuffled: r.shuffled,
          group_index: r.groupIndex,
          prompt: r.task.promptText,
          ground_truth: r.task.spec.answer,
          text: r.text,
          tokens: r.tokens,
          logprobs: r.logprobs,
          reward: r.reward,
          reward_parts: r.parts,
          advantage: advOf.get(r) ?? 0,
          truncated: r.truncated,
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
      const clipped = ordered.filter((r) => r.truncated).length;
      metric(step, 'completions/clipped_ratio', clipped / ordered.length);
      truncation.cut += clipped;
      truncation.total += ordered.length;
      if (step === 1) {
        truncation.start = clipped / ordered.length;
        if (truncation.start > TRUNCATION_WARNING) {
          emit({ type: 'log', level: 'warn', message: `grpo: ${(100 * truncation.start).toFixed(1)}% of the first step's completions hit max_completion_length ${cfg.max_completion_length}; a cut chain has no answer and scores 0` });
        }
      }
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
        await updatePolicy(step, trained, trained.map((r) => advOf.get(r)!));
      }
      metric(step, 'update_seconds', (performance.now() - updateStart) / 1000);
      // A step without an update reports only its rewards (the last loss is a step old).
      ctx.health?.check({ step, reward: rMean, rewardStd: rStd, ...(trained.length > 0 ? { loss: last.loss, gradNorm: last.grad_norm, kl: last.kl } : {}) });
      emit({ type: 'progress', stage: 'grpo', step, total: cfg.steps });
    }
  } finally {
    optimizer.dispose();
    await releasePeers(peers);
  }
  return {
    steps: step,
    seconds: (performance.now() - t0) / 1000,
    stoppedBy,
    last,
    truncation_rate: truncation.total ? truncation.cut / truncation.total : 0,
    truncation_rate_start: truncation.start,
  };

  async function updatePolicy(step: number, rows: Sampled[], adv: number[]): Promise<void> {
    // The step's completions go through forward/backward in micro-batches whose gradients
    // add up to the full batch's (see microBatchWeight): one long scene-text group next to
    // frame groups would otherwise pad every row to the longest and exhaust wasm memory.
    // With peers, each thread takes a contiguous run of the micro-batches (./grpo-update).
    const chunks = grpoUpdateChunks(rows.map((r, i) => ({ prompt: r.prompt, tokens: r.tokens, truncated: r.truncated, advantage: adv[i]! })), cfg);
    const [own, ...remote] = splitChunks(policy, chunks, peers.length + 1);
    let local: GrpoChunkTensors[] | null = null;
    const sums = { loss: 0, clipLow: 0, clipHigh: 0, clipRegion: 0, kl: 0, ratio: 0, gradNorm: 0 };
    try {
      for (let it = 0; it < cfg.num_iterations; it++) {
        const { loss, grads, stats } = await grpoParallelGradients(peers, policy, () => (local ??= grpoChunkTensors(policy, ctx.reference, own!, cfg)), remote, step, it, cfg);
        const gradNorm = clippedStep(optimizer, grads, loss, { maxGradNorm: cfg.max_grad_norm, lr: warmedUpRate(step, cfg), stage: 'grpo', step });
        sums.loss += loss;
        sums.gradNorm += gradNorm;
        for (const k of GRPO_SHARD_STATS) sums[k] += stats[k] ?? 0;
      }
    } finally {
      if (local) disposeChunkTensors(local);
    }
    const n = cfg.num_iterations;
    metric(step, 'loss', sums.loss / n);
    metric(step, 'grad_norm', sums.gradNorm / n);
    metric(step, 'clip_ratio/low_mean', sums.clipLow / n);
    metric(step, 'clip_ratio/high_mean', sums.clipHigh / n);
    metric(step, 'clip_ratio/region_mean', sums.clipRegion / n);
    if (kl) metric(step, 'kl', sums.kl / n);
    metric(step, 'ratio_mean', sums.ratio / n);
  }
}
