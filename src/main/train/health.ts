// The training health guard shared by SFT, GRPO and DPO. A stage that has diverged keeps
// producing numbers (a policy whose weights went to 1e6 samples a constant answer, gets
// reward 0 and gradient 0, and looks calm), so "no NaN" is not "healthy": after every
// optimizer step the trainer reports what it saw and the guard compares it with where the
// stage started. Pure decisions here; the trainers call check(), the loop restores weights.
import { z } from 'zod';
import { NonFiniteLossError } from '../model/optim';

export const HealthConfigSchema = z
  .object({
    /** Off only to study divergence itself: nothing is stopped or restored. */
    enabled: z.boolean().default(true),
    /** Stop when |loss| exceeds this many times the stage's first |loss| (taken as at least 1). */
    loss_factor: z.number().gt(1).default(100),
    /** Stop when the global L2 norm of the weights exceeds this many times its value at the stage's start. */
    weight_norm_factor: z.number().gt(1).default(10),
    /** Stop when GRPO's mean per-token KL to the reference exceeds this (nats; only with beta > 0). */
    max_kl: z.number().positive().default(10),
    /**
     * Stop when every rollout of this many consecutive GRPO steps got the same reward, below
     * the best mean reward of the stage, once the stage has seen different rewards (a stage
     * that starts flat has not collapsed, one where every rollout is right has succeeded). 0 = off.
     */
    reward_collapse_steps: z.number().int().min(0).max(10_000).default(5),
  })
  .strict();
export type HealthConfig = z.output<typeof HealthConfigSchema>;
export const DEFAULT_HEALTH_CONFIG: HealthConfig = HealthConfigSchema.parse({});

/** What a trainer saw at one optimizer step (fields it does not have stay undefined). */
export interface StepHealth {
  step: number;
  loss?: number;
  gradNorm?: number;
  /** Global L2 norm of the weights after the step. */
  weightNorm?: number;
  kl?: number;
  /** Mean and standard deviation of the step's rewards over all its rollouts (GRPO). */
  reward?: number;
  rewardStd?: number;
}

export type HealthCheck = 'non_finite' | 'loss' | 'weight_norm' | 'kl' | 'reward_collapse';

export interface HealthProblem {
  check: HealthCheck;
  step: number;
  metric: string;
  value: number;
  /** The bound that was crossed (null for non-finite values). */
  limit: number | null;
  message: string;
}

export interface HealthState {
  /** |loss| of the stage's first step, at least 1: GRPO's loss sits near 0, so a ratio to it alone would trip on noise. */
  lossScale: number | null;
  startWeightNorm: number | null;
  sawRewardSpread: boolean;
  bestReward: number;
  flatRewardSteps: number;
}

export function initialHealth(startWeightNorm: number | null = null): HealthState {
  return { lossScale: null, startWeightNorm, sawRewardSpread: false, bestReward: -Infinity, flatRewardSteps: 0 };
}

/** Rewards closer than this count as equal (float sums of equal parts differ in the last bits). */
const FLAT_REWARD_STD = 1e-9;

const METRIC_OF: Record<keyof Omit<StepHealth, 'step'>, string> = {
  loss: 'loss',
  gradNorm: 'grad_norm',
  weightNorm: 'weight_norm',
  kl: 'kl',
  reward: 'reward',
  rewardStd: 'reward_std',
};

/** The guard's decision for one step: the next state and the first problem found, if any. */
export function assessStep(state: HealthState, obs: StepHealth, cfg: HealthConfig): { state: HealthState; problem: HealthProblem | null } {
  const problem = (check: HealthCheck, metric: string, value: number, limit: number | null, why: string): HealthProblem => ({
    check,
    step: obs.step,
    metric,
    value,
    limit,
    message: `${metric} is ${formatValue(value)} at step ${obs.step}${why}`,
  });
  for (const key of Object.keys(METRIC_OF) as (keyof typeof METRIC_OF)[]) {
    const v = obs[key];
    if (v !== undefined && !Number.isFinite(v)) return { state, problem: problem('non_finite', METRIC_OF[key], v, null, '') };
  }
  const next: HealthState = { ...state };
  if (obs.loss !== undefined) {
    next.lossScale ??= Math.max(1, Math.abs(obs.loss));
    const limit = cfg.loss_factor * next.lossScale;
    if (Math.abs(obs.loss) > limit) {
      return { state: next, problem: problem('loss', 'loss', obs.loss, limit, ` (health.loss_factor ${cfg.loss_factor} × the stage's first |loss| ${formatValue(next.lossScale)})`) };
    }
  }
  if (obs.weightNorm !== undefined) {
    next.startWeightNorm ??= obs.weightNorm;
    const limit = cfg.weight_norm_factor * next.startWeightNorm;
    if (obs.weightNorm > limit) {
      return {
        state: next,
        problem: problem('weight_norm', 'weight_norm', obs.weightNorm, limit, ` (health.weight_norm_factor ${cfg.weight_norm_factor} × ${formatValue(next.startWeightNorm)} at the stage's start)`),
      };
    }
  }
  if (obs.kl !== undefined && obs.kl > cfg.max_kl) {
    return { state: next, problem: problem('kl', 'kl', obs.kl, cfg.max_kl, ` (health.max_kl ${cfg.max_kl})`) };
  }
  if (obs.rewardStd !== undefined) {
    const belowBest = obs.reward === undefined || obs.reward < next.bestReward - FLAT_REWARD_STD;
    if (obs.reward !== undefined) next.bestReward = Math.max(next.bestReward, obs.reward);
    if (obs.rewardStd > FLAT_REWARD_STD) {
      next.sawRewardSpread = true;
      next.flatRewardSteps = 0;
    } else if (!belowBest) {
      next.flatRewardSteps = 0;
    } else if (next.sawRewardSpread) {
      next.flatRewardSteps++;
      if (cfg.reward_collapse_steps > 0 && next.flatRewardSteps >= cfg.reward_collapse_steps) {
        return {
          state: next,
          problem: problem('reward_collapse', 'reward_std', obs.rewardStd, 0, `: every rollout of the last ${next.flatRewardSteps} steps got the same reward (health.reward_collapse_steps ${cfg.reward_collapse_steps})`),
        };
      }
    }
  }
  return { state: next, problem: null };
}

/** Why the guard stopped a stage; the loop catches it, restores weights and ends the run `diverged`. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly stage: string,
    readonly problem: HealthProblem,
  ) {
    super(`${stage}: ${problem.message}; stopping the stage`);
    this.name = 'TrainingDivergedError';
  }
}

/** What a trainer calls after each optimizer step; throws TrainingDivergedError on a problem. */
export interface HealthGuard {
  check(obs: Omit<StepHealth, 'weightNorm'>): void;
}

/**
 * A stateful guard for one stage. `weightNorm` measures the policy now (the caller owns
 * the tensors); it is read once at creation (the stage's start) and after every step.
 */
export function createHealthGuard(stage: string, cfg: HealthConfig, weightNorm: () => number): HealthGuard {
  let state = initialHealth(cfg.enabled ? weightNorm() : null);
  return {
    check(obs) {
      if (!cfg.enabled) return;
      const r = assessStep(state, { ...obs, weightNorm: weightNorm() }, cfg);
      state = r.state;
      if (r.problem) throw new TrainingDivergedError(stage, r.problem);
    },
  };
}

/** The guard's finding behind an error, if the error is one: a non-finite loss caught by the optimizer counts too. */
export function healthProblemOf(err: unknown): { stage: string; problem: HealthProblem } | null {
  if (err instanceof TrainingDivergedError) return { stage: err.stage, problem: err.problem };
  if (err instanceof NonFiniteLossError) {
    return { stage: err.stage, problem: { check: 'non_finite', step: err.step, metric: err.metric, value: err.value, limit: null, message: `${err.metric} is ${err.value} at step ${err.step}` } };
  }
  return null;
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}
